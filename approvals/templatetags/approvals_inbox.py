from django import template

from approvals.selectors import pending_count_for_user

register = template.Library()


@register.simple_tag(takes_context=True)
def pending_approvals_count(context) -> int:
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return 0
    return pending_count_for_user(user=request.user)
