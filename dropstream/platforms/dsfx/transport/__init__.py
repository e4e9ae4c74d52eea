"""The file transport moved to ``dropstream.platforms.transport`` (shared by every platform that
exchanges files); this name is kept for DSFX's own modules and tests."""

from dropstream.platforms.transport import *  # noqa: F403
from dropstream.platforms.transport import __all__  # noqa: F401
