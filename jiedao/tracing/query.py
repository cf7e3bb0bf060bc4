"""The ONE tracing query: SQL text built from the rules, run unchanged by DuckDB and Spark SQL except
for the few spellings in `DIALECTS`. It reads two views: `presence` (schema.PRESENCE_COLUMNS) and
`index_cases(person_key, onset_ts)`.

How it avoids the quadratic trap of a busy venue: every comparison is an equi-join on (place, time
bin) and then an exact filter. A scan falls in bin floor(t / W); the seed side is copied to its own
bin and both neighbours, so any two scans at most W apart meet in exactly one bin. A stay is exploded
into every bin of `bin_minutes` it covers on both sides; a pair is kept only in the first bin both
cover (greatest of the start bins), so it is never counted twice and needs no DISTINCT.

All times are compared as integer microseconds since the epoch (UTC), so both engines do exactly
the same arithmetic. Output columns, one row per (index_key, contact_key, place_key):
  index_key, contact_key, place_key, overlap_start_us, overlap_end_us, minutes, source, degree, via_key
The row kept is the EARLIEST overlap at that place (then the longest, then by source and via_key):
the first exposure is what quarantine periods count from, and later ones add no new contact.
Evidence of a scan pair: each scan stands for a stay of W minutes from the scan, so the overlap is
[later scan, earlier scan + W] and `minutes` = W - |t1 - t2| (0 when exactly W apart, which counts).
Degree 1 = close contact (密接); degree 2 = secondary contact (次密接): a contact of a close contact,
from that contact's first exposure (its earliest overlap_start with the index case) up to the index
case's onset, never an index case nor a close contact of the same index case; `via_key` names the close
contact (for degree 1 it is NULL)."""

from __future__ import annotations

from jiedao.tracing.rules import COMPANION, OVERLAP, SCAN, Rules

US_PER_MINUTE = 60_000_000
US_PER_DAY = 86_400 * 1_000_000

# The only differences between the engines. Everything else is shared text.
DIALECTS: dict[str, dict[str, str]] = {
    "duckdb": {
        "us": "epoch_us({0})",
        "idiv": "({0} // {1})",
        "explode_range": "unnest(generate_series({0}, {1}))",
    },
    "spark": {
        "us": "unix_micros({0})",
        "idiv": "({0} div {1})",
        "explode_range": "explode(sequence({0}, {1}))",
    },
}


class _D:
    """Renders the dialect's spellings."""

    def __init__(self, dialect: str) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"unknown SQL dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")
        self.t = DIALECTS[dialect]

    def us(self, expr: str) -> str:
        return self.t["us"].format(expr)

    def idiv(self, a: str, b: int | str) -> str:
        return self.t["idiv"].format(a, b)

    def explode_range(self, a: str, b: str) -> str:
        return self.t["explode_range"].format(a, b)


def _base_ctes(rules: Rules, d: _D) -> list[str]:
    """idx: index cases with their window; p: usable presence records; seed1: the index cases' own
    records, clipped to [onset - lookback, onset]."""
    sources = ", ".join(f"'{r.source}'" for r in rules.sources)
    lookback_us = rules.lookback_days * US_PER_DAY
    return [
        f"idx AS (SELECT person_key AS index_key, {d.us('onset_ts')} AS t_end, "
        f"{d.us('onset_ts')} - {lookback_us} AS t_start FROM index_cases)",
        # end before start is bad input: counted by stats_sql, never paired
        f"p AS (SELECT person_key, place_key, source, {d.us('start_ts')} AS s, {d.us('end_ts')} AS e "
        f"FROM presence WHERE end_ts >= start_ts AND source IN ({sources}))",
        "seed1 AS (SELECT i.index_key AS root_key, i.index_key AS seed_key, p.place_key, p.source, "
        "greatest(p.s, i.t_start) AS s, least(p.e, i.t_end) AS e "
        "FROM idx i JOIN p ON p.person_key = i.index_key WHERE p.e >= i.t_start AND p.s <= i.t_end)",
    ]


def _case(rules: Rules, column: str, by_rule: dict[str, str], only: tuple[str, ...] | None = None) -> str:
    """CASE over the source: one expression per rule kind (`by_rule[kind]` is formatted with the
    rule's window `w`, minimum `n`, bin width `b` and companion dwell `h` and days `d`, in
    microseconds). A companion rule's stays use the OVERLAP expression unless it has its own."""
    whens = " ".join(
        f"WHEN '{r.source}' THEN "
        + by_rule[r.kind if r.kind in by_rule else OVERLAP].format(
            w=r.window_minutes * US_PER_MINUTE,
            n=r.min_overlap_minutes * US_PER_MINUTE,
            b=r.bin_minutes * US_PER_MINUTE,
            h=r.dwell_hours * 60 * US_PER_MINUTE,
            d=r.dwell_days * US_PER_DAY,
        )
        for r in rules.sources
        if only is None or r.source in only
    )
    return f"CASE {column} {whens} END"


def _in(sources: tuple[str, ...]) -> str:
    return ", ".join(f"'{s}'" for s in sources)


def _match(seed: str, rules: Rules, d: _D) -> str:
    """Pairs of a seed record with another person's record of the same source at the same place.
    All sources go through ONE equi-join on (place, source, bin), so the seed relation is read once
    (Spark inlines CTEs: a join per source would repeat every upstream step per source)."""
    seed_bins = d.explode_range(
        _case(rules, "sd.source", {SCAN: d.idiv("sd.s", "{w}") + " - 1", OVERLAP: d.idiv("sd.s", "{b}")}),
        _case(rules, "sd.source", {SCAN: d.idiv("sd.s", "{w}") + " + 1", OVERLAP: d.idiv("sd.e", "{b}")}),
    )
    other_bins = d.explode_range(
        _case(rules, "p.source", {SCAN: d.idiv("p.s", "{w}"), OVERLAP: d.idiv("p.s", "{b}")}),
        _case(rules, "p.source", {SCAN: d.idiv("p.s", "{w}"), OVERLAP: d.idiv("p.e", "{b}")}),
    )
    o_start = "greatest(a.s, b.s)"
    o_end = _case(rules, "a.source", {SCAN: "least(a.s, b.s) + {w}", OVERLAP: "least(a.e, b.e)"})
    keep = _case(
        rules,
        "a.source",
        {
            SCAN: "abs(a.s - b.s) <= {w}",
            # the first bin both stays cover counts the pair once; touching (overlap 0) never counts
            OVERLAP: f"a.bin = greatest({d.idiv('a.s', '{b}')}, {d.idiv('b.s', '{b}')}) "
            "AND least(a.e, b.e) > greatest(a.s, b.s) AND least(a.e, b.e) - greatest(a.s, b.s) >= {n}",
            # more than N minutes together; the dwell condition is applied by _earliest
            COMPANION: f"a.bin = greatest({d.idiv('a.s', '{b}')}, {d.idiv('b.s', '{b}')}) "
            "AND least(a.e, b.e) - greatest(a.s, b.s) > {n}",
        },
    )
    return (
        "SELECT a.root_key, a.seed_key, b.person_key AS contact_key, a.place_key, "
        f"{o_start} AS o_start, {o_end} AS o_end, a.source "
        f"FROM (SELECT sd.*, {seed_bins} AS bin FROM {seed} sd) a "
        f"JOIN (SELECT p.*, {other_bins} AS bin FROM p "
        f"WHERE p.place_key IN (SELECT place_key FROM {seed})) b "
        "ON a.place_key = b.place_key AND a.source = b.source AND a.bin = b.bin "
        f"WHERE b.person_key <> a.seed_key AND {keep}"
    )


def _earliest(seed: str, rules: Rules, d: _D, dwell: bool = False) -> str:
    """One row per (root, contact, place): the earliest overlap, ties broken deterministically. With
    `dwell`, a companion-rule pair is kept only if either party's dwell in that cell (the `dwell`
    CTE) is over the rule's hours."""
    pairs = f"({_match(seed, rules, d)}) u"
    companions = rules.companion_sources()
    if dwell and companions:
        over = _case(rules, "u.source", {COMPANION: "{h}"}, only=companions)
        pairs = (
            f"(SELECT u.* FROM {pairs} "
            "LEFT JOIN dwell da ON da.root_key = u.root_key AND da.person_key = u.seed_key "
            "AND da.place_key = u.place_key "
            "LEFT JOIN dwell db ON db.root_key = u.root_key AND db.person_key = u.contact_key "
            "AND db.place_key = u.place_key "
            f"WHERE u.source NOT IN ({_in(companions)}) "
            f"OR coalesce(da.us, 0) > {over} OR coalesce(db.us, 0) > {over}) u"
        )
    return (
        "SELECT root_key, seed_key, contact_key, place_key, o_start, o_end, source FROM ("
        "SELECT u.*, row_number() OVER (PARTITION BY u.root_key, u.contact_key, u.place_key "
        "ORDER BY u.o_start, u.o_end DESC, u.source, u.seed_key) AS rn "
        f"FROM {pairs}) r WHERE r.rn = 1"
    )


def _dwell_cte(rules: Rules) -> str:
    """dwell(root_key, person_key, place_key, us): for every cell an index case was in under a
    companion rule, each person's time in that cell in the rule's dwell days before the onset. One
    pass over the records of those cells (no pairs). A person's overlapping records are merged first
    (gaps and islands), so two copies of one stay count once."""
    companions = _in(rules.companion_sources())
    since = "i.t_end - " + _case(rules, "p.source", {COMPANION: "{d}"}, only=rules.companion_sources())
    part = "PARTITION BY root_key, person_key, place_key ORDER BY s, e"
    return (
        "dwell0 AS (SELECT i.index_key AS root_key, p.person_key, p.place_key, "
        f"greatest(p.s, {since}) AS s, least(p.e, i.t_end) AS e "
        f"FROM (SELECT DISTINCT root_key, place_key FROM seed1 WHERE source IN ({companions})) sp "
        "JOIN idx i ON i.index_key = sp.root_key "
        f"JOIN p ON p.place_key = sp.place_key AND p.source IN ({companions}) "
        f"AND p.e > {since} AND p.s < i.t_end),\n"
        f"dwell1 AS (SELECT d.*, max(d.e) OVER ({part} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) "
        "AS reach FROM dwell0 d),\n"
        "dwell2 AS (SELECT d.*, sum(CASE WHEN d.reach IS NULL OR d.s > d.reach THEN 1 ELSE 0 END) "
        f"OVER ({part} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS island FROM dwell1 d),\n"
        "dwell AS (SELECT root_key, person_key, place_key, sum(len) AS us FROM ("
        "SELECT root_key, person_key, place_key, island, max(e) - min(s) AS len FROM dwell2 "
        "GROUP BY root_key, person_key, place_key, island) x GROUP BY root_key, person_key, place_key)"
    )


def build_trace_sql(rules: Rules, dialect: str) -> str:
    """The contacts query (see the module docstring for its columns)."""
    d = _D(dialect)
    ctes = _base_ctes(rules, d)
    companions = rules.companion_sources()
    if companions:
        ctes.append(_dwell_cte(rules))
    ctes.append(f"close1 AS ({_earliest('seed1', rules, d, dwell=True)})")
    # companions are screened, not traced further: they seed no secondary contacts
    not_companion = f" WHERE source NOT IN ({_in(companions)})" if companions else ""
    not_companion_p = f" AND p.source NOT IN ({_in(companions)})" if companions else ""
    out = (
        "SELECT root_key AS index_key, contact_key, place_key, o_start AS overlap_start_us, "
        f"o_end AS overlap_end_us, CAST(o_end - o_start AS DOUBLE) / {US_PER_MINUTE} AS minutes, source, "
        "1 AS degree, CAST(NULL AS STRING) AS via_key FROM close1"
    )
    if rules.secondary:
        ctes += [
            "exposure AS (SELECT root_key, contact_key, min(o_start) AS t_exp FROM close1"
            f"{not_companion} GROUP BY root_key, contact_key)",
            # a close contact's own records from its first exposure to the index case's onset
            "seed2 AS (SELECT x.root_key, x.contact_key AS seed_key, p.place_key, p.source, "
            "greatest(p.s, x.t_exp) AS s, least(p.e, i.t_end) AS e "
            "FROM exposure x JOIN idx i ON i.index_key = x.root_key JOIN p ON p.person_key = x.contact_key "
            f"WHERE greatest(p.s, x.t_exp) <= least(p.e, i.t_end){not_companion_p})",
            f"pairs2 AS ({_earliest('seed2', rules, d)})",
        ]
        # a close contact is never also a secondary contact of the same index case (a companion may be
        # both: the secondary row is the more serious); decided with a window, not a second join
        closeness = (
            f"CASE WHEN t.degree = 1 AND t.source NOT IN ({_in(companions)}) THEN 1 ELSE 0 END"
            if companions
            else "CASE WHEN t.degree = 1 THEN 1 ELSE 0 END"
        )
        out = (
            "SELECT index_key, contact_key, place_key, overlap_start_us, overlap_end_us, minutes, source, degree, "
            f"via_key FROM (SELECT t.*, max({closeness}) OVER (PARTITION BY t.index_key, t.contact_key) AS is_close "
            f"FROM ({out} UNION ALL SELECT root_key AS index_key, contact_key, place_key, "
            f"o_start AS overlap_start_us, o_end AS overlap_end_us, CAST(o_end - o_start AS DOUBLE) / {US_PER_MINUTE} "
            "AS minutes, source, 2 AS degree, seed_key AS via_key FROM pairs2 "
            "WHERE contact_key NOT IN (SELECT index_key FROM idx)) t) k WHERE k.degree = 1 OR k.is_close = 0"
        )
    return "WITH " + ",\n".join(ctes) + "\n" + out


def build_coverage_sql(rules: Rules, dialect: str) -> str:
    """Per index case, how many of its own records fall in its look-back window (0 = no data)."""
    d = _D(dialect)
    return (
        "WITH "
        + ",\n".join(_base_ctes(rules, d))
        + "\nSELECT i.index_key, count(s.seed_key) AS n_records FROM idx i "
        "LEFT JOIN seed1 s ON s.root_key = i.index_key GROUP BY i.index_key"
    )


def build_stats_sql(rules: Rules, partition: str = "day") -> str:
    """Per day read: all records, end before start (bad, never paired), source without a rule
    (ignored). A day with files but no rows does not appear."""
    sources = ", ".join(f"'{r.source}'" for r in rules.sources)
    return (
        f"SELECT CAST({partition} AS STRING) AS day, count(*) AS records, "
        "sum(CASE WHEN end_ts < start_ts THEN 1 ELSE 0 END) AS bad_intervals, "
        f"sum(CASE WHEN source IN ({sources}) THEN 0 ELSE 1 END) AS unruled_source "
        f"FROM presence GROUP BY CAST({partition} AS STRING)"
    )
