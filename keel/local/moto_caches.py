"""What moto's ASL interpreter rebuilds on every use, built once instead.

The local cloud spent most of its time not running workflows but rebuilding the same things:

- the state machine's parse tree: moto parses the ASL definition with an ANTLR grammar (pure Python)
  every time an execution starts, and again at CreateStateMachine to validate it. That was about a
  third of all the CPU a local run used, more than our handlers;
- a JSONPath parser (built from its grammar tables) for every path an execution reads;
- a boto3 client for every service integration a task calls (the decision prologue's DynamoDB write,
  every Lambda invoke, every SNS publish).

Each is a pure function of its text or its (service, region, credentials), so it is kept. What an execution
evaluates is still built afresh from the kept parse tree by moto's own preprocessor: no execution shares
evaluation components (and their per-run state) with another. A definition or a path that does not
parse is not kept: moto raises its own error every time, as before.
"""

from __future__ import annotations

import functools
import threading
import types
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

_SFN = "moto.stepfunctions.parser.asl"
ASL_PARSER = (f"{_SFN}.parse.asl_parser", "AmazonStateLanguageParser", "parse")
PREPROCESSOR = (f"{_SFN}.parse.preprocessor", "Preprocessor")
# The module global `parse` (jsonpath_ng.ext.parse) that moto's extract_json calls for every path.
JSON_PATH_MODULE = f"{_SFN}.utils.json_path"
# The module global `boto3` through which moto's boto_client_for makes a client per service task.
BOTO_CLIENT_MODULE = f"{_SFN}.utils.boto_client"
# Definitions kept at once; one local cloud deploys a handful. The least recently used goes first.
KEPT_DEFINITIONS = 64
KEPT_PATHS = 4096
_TREES: OrderedDict[str, Any] = OrderedDict()
# moto's preprocessor keeps its query-language scopes in a class attribute shared by every instance:
# two threads building programs at once would interleave their scopes. Building is cheap; one at a time.
_PARSE_LOCK = threading.Lock()


def cached_parse(original_parse: Callable[[str], tuple[Any, Any]], preprocessor: type) -> Callable[[str], tuple[Any, Any]]:
    """A drop-in for AmazonStateLanguageParser.parse that parses each definition text once per process
    (every local cloud deploys the same few definitions)."""

    def parse(definition: str) -> tuple[Any, Any]:
        with _PARSE_LOCK:
            # A preprocessing that raised leaves its scopes behind in that shared list; start clean.
            scopes = getattr(preprocessor, "_query_language_per_scope", None)
            if isinstance(scopes, list):
                scopes.clear()
            tree = _TREES.get(definition)
            if tree is None:
                program, tree = original_parse(definition)
                _TREES[definition] = tree
                while len(_TREES) > KEPT_DEFINITIONS:
                    _TREES.popitem(last=False)
                return program, tree
            _TREES.move_to_end(definition)
            return preprocessor().visit(tree), tree

    return parse


def cached_json_path(original_parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """A drop-in for jsonpath_ng.ext.parse: a parsed path is only read (find) afterwards, so it is shared."""
    return functools.lru_cache(maxsize=KEPT_PATHS)(original_parse)


def client_per_service(boto3_module: Any) -> types.SimpleNamespace:
    """A stand-in for the `boto3` module that boto_client_for uses: one client per (service, region,
    endpoint, credentials), made the first time (boto3 clients are safe to share between threads)."""
    clients: dict[tuple[str | None, ...], Any] = {}
    lock = threading.Lock()

    def client(*, service_name: str, region_name: str, endpoint_url: str | None = None, **settings: Any) -> Any:
        # Credentials are part of the key: should moto start passing a state's own, they get their own client.
        credentials = tuple(settings.get(name) for name in ("aws_access_key_id", "aws_secret_access_key", "aws_session_token"))
        key = (service_name, region_name, endpoint_url, *credentials)
        with lock:
            if key not in clients:
                extra = {"endpoint_url": endpoint_url} if endpoint_url else {}
                clients[key] = boto3_module.client(service_name=service_name, region_name=region_name, **extra, **settings)
            return clients[key]

    return types.SimpleNamespace(client=client)
