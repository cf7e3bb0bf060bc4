"""The register's pages (split by subject: households, persons and search, imports)."""

from jiedao.registry.views.households import (
    household,
    household_add,
    households,
    households_export,
    resident_add,
    resident_move_out,
)
from jiedao.registry.views.imports import (
    import_batch,
    import_check,
    import_commit,
    import_start,
    import_template,
)
from jiedao.registry.views.persons import (
    person,
    person_care_tags,
    person_edit,
    person_unmask,
    persons,
    persons_export,
    search_view,
)

search = search_view

__all__ = [
    "household",
    "household_add",
    "households",
    "households_export",
    "import_batch",
    "import_check",
    "import_commit",
    "import_start",
    "import_template",
    "person",
    "person_care_tags",
    "person_edit",
    "person_unmask",
    "persons",
    "persons_export",
    "resident_add",
    "resident_move_out",
    "search",
]
