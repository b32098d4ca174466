"""Run one rotation of an AWS rotation function, as Lambda would: ``python rotation_runner.py CODE_DIR``.

Started by tests/rotation_world.py in a fresh process whose environment holds only the
credentials of the role the function runs as, the function's configured environment, the
region and the endpoints. Reads ``{"SecretId", "ClientRequestToken", "Steps"}`` on stdin,
imports ``lambda_function`` from CODE_DIR (AWS's code, unmodified) and calls its
``lambda_handler`` once per step, in order, in one process (a warm Lambda execution
environment reuses its process across invocations). Prints one JSON line: the steps that
completed and, for the first that raised, the step and the error.
"""

import json
import logging
import sys
import traceback


def main() -> int:
    code_dir = sys.argv[1]
    request = json.load(sys.stdin)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    sys.path.insert(0, code_dir)
    import boto3

    # Label each request with the step that made it (an unsigned header, added after
    # signing), so the proxy can say which step needed which grant. AWS's code creates its
    # clients from boto3's default session, which is the one labelled here.
    current = {"step": ""}
    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register(
        "before-send", lambda request, **_: request.headers.__setitem__("X-Rotation-Step", current["step"])
    )
    import lambda_function  # AWS's code, from CODE_DIR

    done = []
    for step in request["Steps"]:
        current["step"] = step
        event = {"SecretId": request["SecretId"], "ClientRequestToken": request["ClientRequestToken"], "Step": step}
        try:
            lambda_function.lambda_handler(event, None)
        except Exception as exc:  # what Lambda would report as the invocation's error
            code = getattr(exc, "response", {}).get("Error", {}).get("Code") if hasattr(exc, "response") else None
            traceback.print_exc()
            print(json.dumps({"done": done, "failed": step, "error": f"{type(exc).__name__}: {exc}", "code": code}))
            return 0
        done.append(step)
    print(json.dumps({"done": done, "failed": None, "error": None, "code": None}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
