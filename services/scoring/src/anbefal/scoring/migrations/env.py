from anbefal.common.migrations import run_env
from anbefal.scoring.models import Base

run_env(Base.metadata)
