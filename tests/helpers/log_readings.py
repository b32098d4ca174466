"""What the reading of each captured rotation log says (tests/data/rotation_logs/, captured by
helpers/capture_rotation_logs.py): the fast tier reads the captures against it
(tests/rotation/test_rotation_logs.py), and the rotation tier reads AWS's code failing for real
against it (helpers/rotation_diagnosis.py)."""

# (scenario, step, cause, attribution, failed invocations, a text of the failing line)
EXPECTED = [
    ("password-changed", "setSecret", "no-version-logs-in", "secret", 3,
     "Unable to log into database with previous, current, or pending secret"),
    ("mariadb-password-changed", "setSecret", "no-version-logs-in", "secret", 1,
     "Unable to log into database with previous, current, or pending secret"),
    ("master-password-wrong", "setSecret", "master-login", "master", 1,
     "Unable to log into database using credentials in master secret"),
    ("username-too-long", "createSecret", "clone-too-long", "unnamed", 1,
     "username length with _clone appended would exceed 63 characters"),
    ("master-missing", "setSecret", "master-not-found", "sequence", 1, "ResourceNotFoundException"),
    # the same under the module's grants: the role may read the manifest's master only
    ("master-elsewhere", "setSecret", "master-elsewhere", "sequence", 1, "secretsmanager:GetSecretValue"),
    ("database-closed", "setSecret", "no-version-logs-in", "secret", 1,
     "Unable to log into database with previous, current, or pending secret"),
    ("grant-removed", "createSecret", "denied", "secret", 1, "PutSecretValue"),
    ("master-read-removed", "setSecret", "denied", "master", 1, "GetSecretValue"),
    ("host-missing", "createSecret", "missing-field", "unnamed", 1, "host key is missing from secret JSON"),
    ("wrong-engine", "createSecret", "wrong-engine", "unnamed", 1, "Database engine must be set to 'postgres'"),
    ("not-master-host", "setSecret", "not-replica", "sequence", 1, "DescribeDBInstances"),
    ("no-network", "", "timeout", "unnamed", 1, ""),
    ("no-driver", "", "import-error", "function", 1, "No module named 'pg'"),
    ("interleaved", "setSecret", "master-login", "master", 2,
     "Unable to log into database using credentials in master secret"),
]  # fmt: skip
