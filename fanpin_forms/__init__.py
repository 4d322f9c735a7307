"""fanpin-forms: forms for 防止返贫动态监测和帮扶, from spec to paper and back.

This namespace is the public API for county plugins; everything else is internal and
may move. A plugin needs nothing but these names::

    from fanpin_forms import County, Finding, hookimpl, rule, error

See ``docs/plugin_hooks.md`` for the hooks and ``plugins/yueyang/`` for a complete plugin.
"""

from .cases.rules import (
    Case, RuleFinding, days_over, deadline, deadline_months, error, fmt_date, period_days, rule, warning,
)
from .errors import FanpinError
from .forms.county import County
from .forms.fieldtypes import FieldType, Invalid
from .hookspecs import hookimpl
from .intake.checks import Finding

__version__ = "0.1.0"
__all__ = [
    "Case", "County", "FanpinError", "FieldType", "Finding", "Invalid", "RuleFinding", "__version__", "days_over",
    "deadline", "deadline_months", "error", "fmt_date", "hookimpl", "period_days", "rule", "warning",
]
