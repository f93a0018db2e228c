import sys

from local_pipeline.run import main

sys.exit(main())
