"""The chat UI entry: ``python app.py [--host H] [--port P] [--no-llm]``, the same as ``rag serve``.

The app itself lives in ``rag/web/``; this file only hands its arguments to the CLI.
"""

import sys

from rag.__main__ import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
