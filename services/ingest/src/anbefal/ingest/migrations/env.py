from anbefal.common.migrations import run_env
from anbefal.ingest.models import Base

run_env(Base.metadata)
