"""The three annex forms of the Yueyang 2022 notice, from ``form_specs/``.

A county plugin that registers a spec with the same ``form:`` id replaces one of these.
"""

from fanpin_forms import hookimpl
from fanpin_forms.util.resources import bundled

ANNEXES = ("annex1.yaml", "annex2.yaml", "annex3.yaml")


@hookimpl
def register_forms(register):
    for name in ANNEXES:
        register(bundled("form_specs") / name)
