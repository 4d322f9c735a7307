"""The built-in field types (text, integer, money, date, id_number, phone, …)."""

from fanpin_forms import hookimpl
from fanpin_forms.forms.fieldtypes import BUILTIN_TYPES


@hookimpl
def register_field_types(register):
    for field_type in BUILTIN_TYPES:
        register(field_type())
