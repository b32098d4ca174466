"""Run rotations of an AWS rotation function, as Lambda would: ``python rotation_runner.py CODE_DIR``.

Started by tests/helpers/rotation_world.py, once per function, in a process whose environment holds
only the function's configured environment, the region and the endpoints. It imports
``lambda_function`` from CODE_DIR (AWS's code, unmodified) once, as a warm Lambda execution
environment does, then serves one rotation per line of stdin:
``{"SecretId", "ClientRequestToken", "Steps", "Credentials"}``, calling ``lambda_handler``
once per step, in order, under the role credentials that request carries (new ones for each
rotation: the enforcing proxy judges a rotation by the role's policies as they are when its
credentials are first used). For each request it writes one JSON line: the steps that
completed, for the first that raised the step and the error, and what the function logged.
End of input ends the process.
"""

import io
import json
import logging
import os
import sys
import traceback


def main() -> int:
    code_dir = sys.argv[1]
    # The protocol has stdout to itself: anything else written to fd 1 goes to stderr.
    reply = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    (handler,) = logging.getLogger().handlers
    sys.path.insert(0, code_dir)
    import boto3

    current = {"step": ""}

    def label(request, **_) -> None:
        # Label each request with the step that made it (an unsigned header, added after
        # signing), so the proxy can say which step needed which grant.
        request.headers["X-Rotation-Step"] = current["step"]

    import lambda_function  # AWS's code, from CODE_DIR

    for line in sys.stdin:
        request = json.loads(line)
        os.environ.update(request["Credentials"])
        # AWS's code creates its clients from boto3's default session: a new one per
        # rotation reads this rotation's credentials, and is the one labelled here.
        boto3.setup_default_session()
        boto3.DEFAULT_SESSION.events.register("before-send", label)
        log = io.StringIO()
        handler.setStream(log)
        sys.stdout = sys.stderr = log
        done, result = [], {"failed": None, "error": None, "code": None}
        try:
            for step in request["Steps"]:
                current["step"] = step
                event = {
                    "SecretId": request["SecretId"],
                    "ClientRequestToken": request["ClientRequestToken"],
                    "Step": step,
                }
                try:
                    lambda_function.lambda_handler(event, None)
                except Exception as exc:  # what Lambda would report as the invocation's error
                    response = getattr(exc, "response", None)
                    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
                    traceback.print_exc(file=log)
                    result = {"failed": step, "error": f"{type(exc).__name__}: {exc}", "code": code}
                    break
                done.append(step)
        finally:
            sys.stdout = sys.stderr = sys.__stderr__
            handler.setStream(sys.__stderr__)
        reply.write(json.dumps({"done": done, **result, "log": log.getvalue()}) + "\n")
        reply.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
