from jiedao.core.testing import EVERY_ROLE, endpoint

endpoint("work:today", lambda cast: "/work/today/", EVERY_ROLE)
