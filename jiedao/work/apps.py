from django.apps import AppConfig


class WorkConfig(AppConfig):
    name = "jiedao.work"
    label = "work"

    def ready(self) -> None:
        # Dashboard cards and the Today page's own sections register here (core never imports work);
        # importing jobs registers the periodic escalation with Huey, which only autodiscovers tasks.py.
        from jiedao.work import cards, jobs  # noqa: F401
        from jiedao.work.today import register_builtin_sections

        register_builtin_sections()
