from anbefal.closed_loop.models import Base
from anbefal.common.migrations import run_env

run_env(Base.metadata)
