import anbefal.notify.reply_models  # noqa: F401  (its tables join Base.metadata)
import anbefal.notify.sso.models  # noqa: F401  (as are these)
from anbefal.common.migrations import run_env
from anbefal.notify.models import Base

run_env(Base.metadata)
