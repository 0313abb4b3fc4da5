from anbefal.common.migrations import run_env
from anbefal.notify.models import Base

run_env(Base.metadata)
