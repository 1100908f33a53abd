"""`python -m agent_runner`: the entry point of the container and of local mode's subprocess."""

import sys

from agent_runner.main import main

sys.exit(main())
