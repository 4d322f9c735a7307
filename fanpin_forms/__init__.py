"""fanpin-forms: forms for 防止返贫动态监测和帮扶, from spec to paper and back.

Plugins import the hook marker from here::

    from fanpin_forms import hookimpl
"""

from .hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["hookimpl", "__version__"]
