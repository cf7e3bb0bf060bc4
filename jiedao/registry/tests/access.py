from jiedao.core.testing import EVERY_ROLE, endpoint

endpoint("registry:search", lambda cast: "/registry/search/?q=x", EVERY_ROLE)
