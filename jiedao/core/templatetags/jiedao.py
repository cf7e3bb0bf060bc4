from django import template

from jiedao.core.audit import action_label as _action_label

register = template.Library()


@register.filter
def action_label(code: str) -> str:
    """`org.revoke_role` → "Role revoked" (in the UI language), or the code when no app named it."""
    return _action_label(code)
