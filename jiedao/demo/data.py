"""Fixed facts and word lists of the Huayang demo: communities, roads, name parts, chains and codes.

Figures in capitals come from the source article (mission/seed-article.zh.txt) and the requirement
catalogue; everything else is plausible colour for a subdistrict of Tianfu New Area, Chengdu."""

from __future__ import annotations

from dataclasses import dataclass

SUBDISTRICT_NAME = "华阳街道"
SUBDISTRICT_CODE = "HY"
ADDRESS_PREFIX = "四川省成都市天府新区华阳街道"

# Article figures (D1, G2, G1).
CLINICS = 218
PHARMACIES = 222
NANHU_NAME = "南湖尚景"
NANHU_FLATS = 1324
NANHU_HOUSEHOLDS = 1263
NANHU_MIN_RESIDENTS = 3001  # "3000余人": strictly more than 3,000
LONGHE_MEMBER_ENTERPRISES = 43

DEMO_PASSWORD = "huayang2022"


@dataclass(frozen=True)
class CommunitySpec:
    name: str  # 滨江社区
    slug: str  # binjiang: usernames and codes
    abbr: str  # BJ: codes and file numbers
    grid_layout: tuple[int, int]  # grid columns × rows inside the community
    roads: tuple[str, ...]


# Ten communities laid out west→east in two rows (south row first); see geo.community_cells.
COMMUNITIES: tuple[CommunitySpec, ...] = (
    CommunitySpec("滨江社区", "binjiang", "BJ", (3, 2), ("滨江路", "南湖路", "锦江路", "湖滨西路")),
    CommunitySpec("龙河社区", "longhe", "LH", (4, 2), ("龙河路", "华阳大道一段", "龙灯山路", "协和路")),
    CommunitySpec("河池社区", "hechi", "HC", (2, 2), ("河池路", "河池东街", "广都大道")),
    CommunitySpec("菜蔬社区", "caishu", "CS", (3, 1), ("菜蔬街", "华府大道一段", "沙河路")),
    CommunitySpec("正西街社区", "zhengxijie", "ZX", (2, 3), ("正西街", "正东街", "华阳老街", "文化路")),
    CommunitySpec("二江寺社区", "erjiangsi", "EJ", (2, 2), ("二江路", "二江寺街", "府河路")),
    CommunitySpec("安公社区", "angong", "AG", (3, 2), ("安公路", "广都上街", "华新北路")),
    CommunitySpec("大件路社区", "dajianlu", "DJ", (2, 2), ("大件路", "华阳大道二段", "伏龙路")),
    CommunitySpec("华新社区", "huaxin", "HX", (4, 2), ("华新中路", "华新上街", "丽都街", "天府大道南段")),
    CommunitySpec("海昌路社区", "haichanglu", "HL", (2, 2), ("海昌路", "正北下街", "芙蓉路")),
)
NANHU_COMMUNITY = "binjiang"
# Community-level demo logins sit here; the enterprise liaison sits in Longhe, home of the association.
DEMO_COMMUNITY = "binjiang"
LIAISON_COMMUNITY = "longhe"

CHINESE_NUMERALS = "零一二三四五六七八九十"


def chinese_number(n: int) -> str:
    if n <= 10:
        return CHINESE_NUMERALS[n]
    if n < 20:
        return "十" + CHINESE_NUMERALS[n - 10]
    tens, ones = divmod(n, 10)
    return CHINESE_NUMERALS[tens] + "十" + (CHINESE_NUMERALS[ones] if ones else "")


# ---- identity ------------------------------------------------------------------------------------
# Region prefixes (GB/T 2260). Huayang was part of Shuangliu county (510122) until the district
# (510116) replaced it in 2016, so locals born earlier carry 510122.
SHUANGLIU_OLD = "510122"
SHUANGLIU_NEW = "510116"
CHENGDU_REGIONS = (
    "510104", "510105", "510106", "510107", "510108", "510112", "510113", "510114", "510115",
    "510117", "510121", "510124", "510129", "510131", "510132", "510181", "510182", "510183",
    "510184", "510185",
)  # fmt: skip
SICHUAN_REGIONS = (
    "510703", "510781", "510922", "511002", "511025", "511102", "511302", "511321", "511381",
    "511502", "511602", "511621", "511702", "512021", "512081", "513401", "510681", "511304",
)  # fmt: skip
OTHER_REGIONS = (
    "500101", "500222", "500235", "420106", "430102", "610113", "530102", "520102", "411627",
    "341221", "362331", "450923", "130182", "370281", "440305", "320481", "330327", "231002",
)  # fmt: skip

# Mobile prefixes of the three carriers.
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155",
    "156", "157", "158", "159", "166", "173", "177", "180", "181", "182", "183", "185", "186", "187",
    "188", "189", "191", "198", "199",
)  # fmt: skip

# Given-name characters to widen Faker's short zh_CN lists (which make every third man 王伟).
GIVEN_MALE = "伟强磊军勇杰涛斌浩宇鹏俊凯健帆旭龙林阳亮成建峰晨瑞博彬坤文东雷兵波辉刚明超志国华平海德永祥川蜀锐睿豪轩宸泽然航毅"
GIVEN_FEMALE = (
    "芳娜敏静丽艳娟霞燕玲丹萍红英梅莉婷晶颖雪慧倩琴云洁莹琳欣瑶怡佳蓉悦涵萱琪嘉雯璐薇岚珊月桂兰秀玉春"
)
FOREIGN_NAMES = (
    "Kim Minjun", "Tanaka Yui", "John Miller", "Anna Schmidt", "Nguyen Van An", "Maria Garcia",
    "Lee Soyeon", "David Brown", "Sato Haruto", "Olga Ivanova",
)  # fmt: skip

DISABILITY_NOTES = (
    "肢体残疾 二级", "肢体残疾 三级", "视力残疾 一级", "视力残疾 二级", "听力残疾 三级",
    "言语残疾 四级", "智力残疾 二级", "精神残疾 三级", "多重残疾 一级",
)  # fmt: skip
TREATMENT_NOTES = (
    "血液透析，每周一三五", "血液透析，每周二四六", "腹膜透析，居家进行", "肿瘤化疗，每三周一次",
    "胰岛素注射，每日", "精神类药物，每月复诊", "康复理疗，每周两次",
)  # fmt: skip
BEDRIDDEN_NOTES = ("长期卧床，需上门服务", "中风后卧床，家属照护", "髋部骨折卧床，行动不便")
ELDERLY_ALONE_NOTES = ("独居，子女在外地", "独居，子女在成都市区", "独居，无子女", "独居，老伴已故")

# ---- compounds -----------------------------------------------------------------------------------
COMPOUND_PREFIXES = (
    "锦城", "天府", "华阳", "龙湖", "滨江", "河池", "海昌", "正西", "安公", "二江", "麓山", "华府",
    "剑南", "广都", "中和", "万科", "保利", "中海", "蓝光", "置信", "合能", "华润", "招商", "金科",
    "南湖", "翡翠", "锦江", "府河", "蜀都", "芙蓉", "望江", "玉林", "紫荆", "金沙", "新城", "协和",
)  # fmt: skip
COMPOUND_SUFFIXES = (
    "花园", "家园", "苑", "小区", "公馆", "华庭", "名居", "新城", "雅居", "国际", "丽景", "嘉苑",
    "翠庭", "尚城", "一号", "湾", "府", "城市花园", "雅苑", "春天", "锦苑", "时代",
)  # fmt: skip
# kind → (share of compounds, floors range, entrances range, flats per floor range, area m² range)
COMPOUND_KINDS: dict[
    str, tuple[float, tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]
] = {
    "commercial": (0.55, (11, 33), (1, 2), (2, 4), (70, 150)),
    "resettlement": (0.2, (11, 26), (1, 2), (2, 4), (55, 110)),
    "old_estate": (0.2, (5, 7), (2, 3), (2, 2), (45, 85)),
    "staff_housing": (0.05, (6, 7), (2, 3), (2, 2), (50, 90)),
}
PROPERTY_COMPANIES = (
    "成都嘉宝物业", "万科物业", "保利物业", "中海物业", "蓝光嘉宝服务", "华润万象生活", "招商积余",
    "成都润丰物业", "四川华阳物业", "天府新区安置房物业服务中心", "居民自管", "成都合能物业",
)  # fmt: skip

# ---- places --------------------------------------------------------------------------------------
PHARMACY_CHAINS = (
    "一心堂", "老百姓大药房", "海王星辰", "太极大药房", "桐君阁大药房", "健之佳", "国药控股大药房",
    "德仁堂", "成都百信药房", "四川本草堂", "益丰大药房", "华阳惠民药房",
)  # fmt: skip
CLINIC_KINDS = ("诊所", "中医诊所", "口腔诊所", "门诊部", "中西医结合诊所", "社区卫生服务站")
SUPERMARKETS = ("红旗连锁", "舞东风超市", "互惠超市", "永辉超市", "WOWO便利", "7-Eleven", "伊藤洋华堂")
MERCHANT_KINDS = (
    "水果店", "理发店", "五金店", "烟酒店", "服装店", "手机店", "便利店", "茶楼", "干洗店", "花店",
    "母婴店", "文具店", "眼镜店", "粮油店", "副食店", "麻将馆", "美甲店", "宠物店",
)  # fmt: skip
RESTAURANT_KINDS = (
    "火锅", "串串香", "冒菜", "面馆", "川菜馆", "烧烤", "钵钵鸡", "小吃", "中餐厅", "兔头", "抄手", "豆花饭",
)  # fmt: skip
PARCEL_BRANDS = (
    "中通快递",
    "圆通速递",
    "申通快递",
    "韵达快递",
    "顺丰速运",
    "京东物流",
    "极兔速递",
    "菜鸟驿站",
)
CAFE_BRANDS = ("网鱼网咖", "顺网网咖", "极速网吧")
HOTEL_BRANDS = ("如家酒店", "汉庭酒店", "锦江之星", "7天酒店")
FEVER_CLINICS = (
    "天府新区人民医院发热门诊",
    "华阳社区卫生服务中心发热哨点诊室",
    "双流区第一人民医院华阳院区发热门诊",
)
HOSPITALS = ("天府新区人民医院", "华阳社区卫生服务中心")
SCHOOLS = (
    "华阳中学", "华阳小学", "华阳实验小学", "正西街小学", "华阳二小", "天府新区第一中学",
    "天府新区华阳中学附属小学", "龙河小学", "滨江学校", "二江寺小学", "华新中学", "安公小学",
)  # fmt: skip
BUILDERS = ("中建三局", "中铁二十三局", "四川华西集团", "成都建工", "中国五冶", "四川路桥")
