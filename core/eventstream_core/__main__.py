import sys

from eventstream_core.main import main

sys.exit(main())
