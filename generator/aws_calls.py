"""AWS's published rotation functions: every AWS API call each one makes, and what the
module grants for it. The one home of that fact: :mod:`generator.policies` builds each
role's rotation statements from :func:`uses`, and ``explain`` and the module README cite the
function and the calls behind each statement.

``CALLS`` lists, for each function of aws-samples/aws-secrets-manager-rotation-lambdas at
:data:`SOURCE_COMMIT` (the code behind AWS's Serverless Application Repository rotation
applications), every boto3 call it can make on any path: (service, operation, target) and
the lines of ``lambda_function.py`` that make it. ``tests/rotation/test_aws_calls.py`` reads the
unmodified copy of that code with Python's ``ast`` (tests/helpers/aws_functions.py) and fails when
the code makes a call this table does not list, so a new AWS version that adds a call
cannot pass silently; it also proves that every call of every engine and strategy maps to a
statement the module emits, on that resource, or to a reason here why not.

Targets: ``secret`` is the secret being rotated (the event's SecretId); ``master`` is the
secret named by the rotated secret's ``masterarn`` field; ``*`` is no resource
(GetRandomPassword); ``rds:db`` / ``rds:cluster`` are RDS DB instances / clusters; the rest
are the resource types of services whose functions rotation-tf does not deploy.

When the master secret is an RDS-managed one (``manage_master_user_password``: named
``rds!db-...`` or ``rds!cluster-...``, holding only ``username`` and ``password``), the
multi-user functions (and Db2's single-user one) read its ``aws:rds:primarydbinstancearn`` /
``aws:rds:primarydbclusterarn`` tag with ``DescribeSecret`` and the host, port and engine
with ``rds:DescribeDBInstances`` / ``rds:DescribeDBClusters`` (``get_secret_dict`` ->
``fetch_instance_arn_from_system_tags`` -> ``get_connection_params_from_rds_api``).
IAM's resource types for those two actions are ``db`` and ``cluster``
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonrds.html);
the manifest names the master secret, not its database, so the grant covers the DB
instances (or clusters) of the account and region.

The Redshift multi-user function reads its admin secret's tags with ``DescribeSecret``
whatever the secret holds (``get_secret_dict(..., admin_secret=True)`` ->
``get_tags_from_metadata``, line 490). When the admin secret is Redshift's own (named
``redshift!<cluster or namespace>-<admin user>``, tagged ``aws:redshift:primaryclusterarn``
or ``aws:redshift-serverless:namespacearn``), it then calls ``redshift:DescribeClusters`` on
the tagged cluster, or ``redshift-serverless:ListNamespaces`` and ``ListWorkgroups``. The
name says that Redshift manages the secret but not which of the two: the manifest says it
(``master_secret.managed_by``).

When a secret's ``host`` is not its master's, the functions with ``is_rds_replica_database``
accept it if RDS says it is a read replica of the master's instance
(``rds:DescribeDBInstances`` on the replica, named by the host's first label) or, for Aurora
(PostgreSQL and MySQL only), a reader of the master's cluster (``rds:DescribeDBClusters`` on
the cluster the master's host names). The manifest says so (``replica_of_master``) and names
the instance or cluster, so the grant is that one resource.

A secret's *path* (:class:`Path`: engine, strategy, kind of master secret, kind of replica)
chooses which of its function's calls it makes; :func:`paths` lists every path the module
can emit, and :mod:`generator.policies` turns a path's calls into the requests (action,
resource, condition context) that both the module's policy and ``doctor`` are built from.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import get_args

from generator import engines

SOURCE_REPOSITORY = "aws-samples/aws-secrets-manager-rotation-lambdas"
SOURCE_COMMIT = "b4b8eca63e1f61bbcfb18c291b640f4fc3b0deb8"
SOURCE_DATE = "2025-02-25"
SOURCE_URL = f"https://github.com/{SOURCE_REPOSITORY}/tree/{SOURCE_COMMIT}"
STRATEGY_PAGE = "https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotation-strategy.html"
RDS_ACTIONS_PAGE = "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonrds.html"

Call = tuple[str, str, str]  # (boto3 service, boto3 operation, target)

SECRET = "secret"
MASTER = "master"
NO_RESOURCE = "*"
RDS_DB = "rds:db"
RDS_CLUSTER = "rds:cluster"
REDSHIFT_CLUSTER = "redshift:cluster"
REDSHIFT_SERVERLESS = "redshift-serverless:*"  # ListNamespaces / ListWorkgroups: no resource type

# Kinds of master secret, as far as the calls they cause go.
PLAIN = "plain"  # a master secret of your own: holds host, engine, username, password
RDS_MANAGED_DB = "rds!db"  # RDS's managed master user secret of a DB instance
RDS_MANAGED_CLUSTER = "rds!cluster"  # ... of a DB cluster (Aurora, Multi-AZ clusters)
RDS_MANAGED_KINDS = (RDS_MANAGED_DB, RDS_MANAGED_CLUSTER)
REDSHIFT_MANAGED = "redshift!"  # Redshift's admin secret, not yet told of which kind (the name cannot say)
REDSHIFT_MANAGED_CLUSTER = "redshift!cluster"  # a provisioned cluster's (aws:redshift:primaryclusterarn)
REDSHIFT_MANAGED_NAMESPACE = "redshift!namespace"  # a Serverless namespace's (aws:redshift-serverless:namespacearn)
REDSHIFT_MANAGED_KINDS = (REDSHIFT_MANAGED_CLUSTER, REDSHIFT_MANAGED_NAMESPACE)
SERVICE_MANAGED_KINDS = RDS_MANAGED_KINDS + REDSHIFT_MANAGED_KINDS
# master_secret.managed_by: the kind of a Redshift-managed admin secret, which its name cannot tell
MANAGED_BY = {"redshift_cluster": REDSHIFT_MANAGED_CLUSTER, "redshift_serverless": REDSHIFT_MANAGED_NAMESPACE}

# Kinds of replica host (replica_of_master), named as the manifest's keys.
REPLICA_INSTANCE = "db_instance"  # a read replica of the master's DB instance
REPLICA_CLUSTER = "db_cluster"  # an Aurora reader endpoint or reader instance of the master's cluster
REPLICA_KINDS = (REPLICA_INSTANCE, REPLICA_CLUSTER)

# Every call of every function, on any path, with its lines (read from the code by tests/helpers/aws_functions.py).
CALLS: dict[str, dict[Call, tuple[int, ...]]] = {  # fmt: skip
    "SecretsManagerActiveDirectoryAndKeytabRotationSingleUser": {
        ("ds", "describe_directories", "ds:directory"): (143,),
        ("ds", "reset_user_password", "ds:directory"): (324,),
        ("secretsmanager", "describe_secret", "?"): (589,),
        ("secretsmanager", "describe_secret", "secret"): (136, 541),
        ("secretsmanager", "get_random_password", "*"): (267,),
        ("secretsmanager", "get_secret_value", "?"): (802, 811),
        ("secretsmanager", "get_secret_value", "secret"): (649,),
        ("secretsmanager", "put_secret_value", "?"): (400,),
        ("secretsmanager", "put_secret_value", "secret"): (274,),
        ("secretsmanager", "update_secret_version_stage", "?"): (609,),
        ("secretsmanager", "update_secret_version_stage", "secret"): (556,),
    },
    "SecretsManagerActiveDirectoryRotationSingleUser": {
        ("ds", "describe_directories", "ds:directory"): (108,),
        ("ds", "reset_user_password", "ds:directory"): (267,),
        ("secretsmanager", "describe_secret", "secret"): (101, 306),
        ("secretsmanager", "get_random_password", "*"): (214,),
        ("secretsmanager", "get_secret_value", "secret"): (361,),
        ("secretsmanager", "put_secret_value", "secret"): (220,),
        ("secretsmanager", "update_secret_version_stage", "secret"): (321,),
    },
    "SecretsManagerElasticacheUserRotation": {
        ("elasticache", "describe_users", "elasticache:user"): (115, 260),
        ("elasticache", "modify_user", "elasticache:user"): (170,),
        ("secretsmanager", "describe_secret", "secret"): (60, 214),
        ("secretsmanager", "get_random_password", "*"): (127,),
        ("secretsmanager", "get_secret_value", "secret"): (119, 296, 298),
        ("secretsmanager", "put_secret_value", "secret"): (131,),
        ("secretsmanager", "update_secret_version_stage", "secret"): (226,),
    },
    "SecretsManagerInfluxDBRotationMultiUser": {
        ("secretsmanager", "describe_secret", "secret"): (94, 285),
        ("secretsmanager", "get_secret_value", "?"): (386,),
        ("secretsmanager", "get_secret_value", "secret"): (335,),
        ("secretsmanager", "put_secret_value", "secret"): (183,),
        ("secretsmanager", "update_secret_version_stage", "secret"): (297,),
        ("timestream-influxdb", "get_db_instance", "timestream-influxdb:db-instance"): (421,),
    },
    "SecretsManagerInfluxDBRotationSingleUser": {
        ("secretsmanager", "describe_secret", "secret"): (56, 227),
        ("secretsmanager", "get_random_password", "*"): (108,),
        ("secretsmanager", "get_secret_value", "secret"): (270,),
        ("secretsmanager", "put_secret_value", "secret"): (109,),
        ("secretsmanager", "update_secret_version_stage", "secret"): (239,),
        ("timestream-influxdb", "get_db_instance", "timestream-influxdb:db-instance"): (311,),
    },
    "SecretsManagerMongoDBRotationMultiUser": {
        ("secretsmanager", "describe_secret", "secret"): (60, 265),
        ("secretsmanager", "get_random_password", "*"): (490,),
        ("secretsmanager", "get_secret_value", "master"): (419,),
        ("secretsmanager", "get_secret_value", "secret"): (419,),
        ("secretsmanager", "put_secret_value", "secret"): (126,),
        ("secretsmanager", "update_secret_version_stage", "secret"): (277,),
    },
    "SecretsManagerMongoDBRotationSingleUser": {
        ("secretsmanager", "describe_secret", "secret"): (57, 260),
        ("secretsmanager", "get_random_password", "*"): (463,),
        ("secretsmanager", "get_secret_value", "secret"): (414,),
        ("secretsmanager", "put_secret_value", "secret"): (121,),
        ("secretsmanager", "update_secret_version_stage", "secret"): (272,),
    },
    "SecretsManagerRDSDb2RotationMultiUser": {
        ("rds", "describe_db_instances", "rds:db"): (505, 582),
        ("secretsmanager", "describe_secret", "master"): (535,),
        ("secretsmanager", "describe_secret", "secret"): (60, 326),
        ("secretsmanager", "get_random_password", "*"): (638,),
        ("secretsmanager", "get_secret_value", "master"): (454,),
        ("secretsmanager", "get_secret_value", "secret"): (454,),
        ("secretsmanager", "put_secret_value", "secret"): (125,),
        ("secretsmanager", "update_secret_version_stage", "secret"): (338,),
    },
    "SecretsManagerRDSDb2RotationSingleUser": {
        ("rds", "describe_db_instances", "rds:db"): (410, 487),
        ("secretsmanager", "describe_secret", "master"): (440,),
        ("secretsmanager", "describe_secret", "secret"): (59, 259),
        ("secretsmanager", "get_random_password", "*"): (543,),
        ("secretsmanager", "get_secret_value", "master"): (359,),
        ("secretsmanager", "get_secret_value", "secret"): (359,),
        ("secretsmanager", "put_secret_value", "secret"): (126,),
        ("secretsmanager", "update_secret_version_stage", "secret"): (271,),
    },
    "SecretsManagerRDSMariaDBRotationMultiUser": {
        ("rds", "describe_db_instances", "rds:db"): (515, 593),
        ("secretsmanager", "describe_secret", "master"): (546,),
        ("secretsmanager", "describe_secret", "secret"): (60, 285),
        ("secretsmanager", "get_random_password", "*"): (647,),
        ("secretsmanager", "get_secret_value", "master"): (439,),
        ("secretsmanager", "get_secret_value", "secret"): (439,),
        ("secretsmanager", "put_secret_value", "secret"): (125,),
        ("secretsmanager", "update_secret_version_stage", "secret"): (297,),
    },
    "SecretsManagerRDSMariaDBRotationSingleUser": {
        ("secretsmanager", "describe_secret", "secret"): (55, 258),
        ("secretsmanager", "get_random_password", "*"): (459,),
        ("secretsmanager", "get_secret_value", "secret"): (410,),
        ("secretsmanager", "put_secret_value", "secret"): (119,),
        ("secretsmanager", "update_secret_version_stage", "secret"): (270,),
    },
    "SecretsManagerRDSMySQLRotationMultiUser": {
        ("rds", "describe_db_clusters", "rds:cluster"): (675,),
        ("rds", "describe_db_instances", "rds:db"): (642,),
        ("secretsmanager", "describe_secret", "master"): (703,),
        ("secretsmanager", "describe_secret", "secret"): (60, 304),
        ("secretsmanager", "get_random_password", "*"): (798,),
        ("secretsmanager", "get_secret_value", "master"): (458,),
        ("secretsmanager", "get_secret_value", "secret"): (458,),
        ("secretsmanager", "put_secret_value", "secret"): (132,),
        ("secretsmanager", "update_secret_version_stage", "secret"): (316,),
    },
    "SecretsManagerRDSMySQLRotationSingleUser": {
        ("secretsmanager", "describe_secret", "secret"): (55, 261),
        ("secretsmanager", "get_random_password", "*"): (482,),
        ("secretsmanager", "get_secret_value", "secret"): (413,),
        ("secretsmanager", "put_secret_value", "secret"): (119,),
        ("secretsmanager", "update_secret_version_stage", "secret"): (273,),
    },
    "SecretsManagerRDSOracleRotationMultiUser": {
        ("rds", "describe_db_instances", "rds:db"): (530, 608),
        ("secretsmanager", "describe_secret", "master"): (561,),
        ("secretsmanager", "describe_secret", "secret"): (61, 294),
        ("secretsmanager", "get_random_password", "*"): (666,),
        ("secretsmanager", "get_secret_value", "master"): (450,),
        ("secretsmanager", "get_secret_value", "secret"): (450,),
        ("secretsmanager", "put_secret_value", "secret"): (126,),
        ("secretsmanager", "update_secret_version_stage", "secret"): (306,),
    },
    "SecretsManagerRDSOracleRotationSingleUser": {
        ("secretsmanager", "describe_secret", "secret"): (56, 256),
        ("secretsmanager", "get_random_password", "*"): (458,),
        ("secretsmanager", "get_secret_value", "secret"): (409,),
        ("secretsmanager", "put_secret_value", "secret"): (120,),
        ("secretsmanager", "update_secret_version_stage", "secret"): (268,),
    },
    "SecretsManagerRDSPostgreSQLRotationMultiUser": {
        ("rds", "describe_db_clusters", "rds:cluster"): (630,),
        ("rds", "describe_db_instances", "rds:db"): (597,),
        ("secretsmanager", "describe_secret", "master"): (658,),
        ("secretsmanager", "describe_secret", "secret"): (62, 285),
        ("secretsmanager", "get_random_password", "*"): (753,),
        ("secretsmanager", "get_secret_value", "master"): (448,),
        ("secretsmanager", "get_secret_value", "secret"): (448,),
        ("secretsmanager", "put_secret_value", "secret"): (127,),
        ("secretsmanager", "update_secret_version_stage", "secret"): (297,),
    },
    "SecretsManagerRDSPostgreSQLRotationSingleUser": {
        ("secretsmanager", "describe_secret", "secret"): (57, 264),
        ("secretsmanager", "get_random_password", "*"): (473,),
        ("secretsmanager", "get_secret_value", "secret"): (423,),
        ("secretsmanager", "put_secret_value", "secret"): (120,),
        ("secretsmanager", "update_secret_version_stage", "secret"): (276,),
    },
    "SecretsManagerRDSSQLServerRotationMultiUser": {
        ("rds", "describe_db_instances", "rds:db"): (752, 830),
        ("secretsmanager", "describe_secret", "master"): (783,),
        ("secretsmanager", "describe_secret", "secret"): (60, 281),
        ("secretsmanager", "get_random_password", "*"): (888,),
        ("secretsmanager", "get_secret_value", "master"): (441,),
        ("secretsmanager", "get_secret_value", "secret"): (441,),
        ("secretsmanager", "put_secret_value", "secret"): (125,),
        ("secretsmanager", "update_secret_version_stage", "secret"): (293,),
    },
    "SecretsManagerRDSSQLServerRotationSingleUser": {
        ("secretsmanager", "describe_secret", "secret"): (55, 280),
        ("secretsmanager", "get_random_password", "*"): (485,),
        ("secretsmanager", "get_secret_value", "secret"): (436,),
        ("secretsmanager", "put_secret_value", "secret"): (119,),
        ("secretsmanager", "update_secret_version_stage", "secret"): (292,),
    },
    "SecretsManagerRedshiftRotationMultiUser": {
        ("redshift", "describe_clusters", "redshift:cluster"): (606,),
        ("redshift-serverless", "list_namespaces", "redshift-serverless:*"): (541,),
        ("redshift-serverless", "list_workgroups", "redshift-serverless:*"): (559,),
        ("secretsmanager", "describe_secret", "master"): (490,),
        ("secretsmanager", "describe_secret", "secret"): (61, 309),
        ("secretsmanager", "get_random_password", "*"): (662,),
        ("secretsmanager", "get_secret_value", "master"): (388,),
        ("secretsmanager", "get_secret_value", "secret"): (388,),
        ("secretsmanager", "put_secret_value", "secret"): (126,),
        ("secretsmanager", "update_secret_version_stage", "secret"): (321,),
    },
    "SecretsManagerRedshiftRotationSingleUser": {
        ("secretsmanager", "describe_secret", "secret"): (56, 258),
        ("secretsmanager", "get_random_password", "*"): (384,),
        ("secretsmanager", "get_secret_value", "secret"): (332,),
        ("secretsmanager", "put_secret_value", "secret"): (120,),
        ("secretsmanager", "update_secret_version_stage", "secret"): (270,),
    },
    "SecretsManagerRotationTemplate": {
        ("secretsmanager", "describe_secret", "secret"): (41, 161),
        ("secretsmanager", "get_random_password", "*"): (100,),
        ("secretsmanager", "get_secret_value", "secret"): (90, 94),
        ("secretsmanager", "put_secret_value", "secret"): (103,),
        ("secretsmanager", "update_secret_version_stage", "secret"): (173,),
    },
}

UNSUPPORTED: dict[str, str] = {
    "SecretsManagerActiveDirectoryAndKeytabRotationSingleUser": "Active Directory is not an engine rotation-tf supports",
    "SecretsManagerActiveDirectoryRotationSingleUser": "Active Directory is not an engine rotation-tf supports",
    "SecretsManagerElasticacheUserRotation": "ElastiCache users are not an engine rotation-tf supports",
    "SecretsManagerInfluxDBRotationMultiUser": "Timestream for InfluxDB is not an engine rotation-tf supports",
    "SecretsManagerInfluxDBRotationSingleUser": "Timestream for InfluxDB is not an engine rotation-tf supports",
}
"""Functions in AWS's repository that no engine x strategy of rotation-tf uses, and why."""

# Which aws:rds:primary* tags a function reads from an RDS-managed master secret (the others
# take only an instance's: an rds!cluster- master leaves them without a host).
RDS_MASTER_KINDS: dict[str, tuple[str, ...]] = {
    "SecretsManagerRDSDb2RotationMultiUser": (RDS_MANAGED_DB,),
    "SecretsManagerRDSDb2RotationSingleUser": (RDS_MANAGED_DB,),
    "SecretsManagerRDSMariaDBRotationMultiUser": (RDS_MANAGED_DB,),
    "SecretsManagerRDSMySQLRotationMultiUser": (RDS_MANAGED_DB, RDS_MANAGED_CLUSTER),
    "SecretsManagerRDSOracleRotationMultiUser": (RDS_MANAGED_DB,),
    "SecretsManagerRDSPostgreSQLRotationMultiUser": (RDS_MANAGED_DB, RDS_MANAGED_CLUSTER),
    "SecretsManagerRDSSQLServerRotationMultiUser": (RDS_MANAGED_DB,),
}
# The tag of a service-managed master secret that names its database (lower case: AWS's code
# compares the keys lower-cased), which AWS's code then describes.
MASTER_TAGS: dict[str, str] = {
    RDS_MANAGED_DB: "aws:rds:primarydbinstancearn",
    RDS_MANAGED_CLUSTER: "aws:rds:primarydbclusterarn",
    REDSHIFT_MANAGED_CLUSTER: "aws:redshift:primaryclusterarn",
    REDSHIFT_MANAGED_NAMESPACE: "aws:redshift-serverless:namespacearn",
}
# Which Redshift tags a function reads from its admin secret (get_connection_params_from_redshift_api
# for aws:redshift:primaryclusterarn, ..._serverless_api for aws:redshift-serverless:namespacearn).
REDSHIFT_MASTER_KINDS: dict[str, tuple[str, ...]] = {
    "SecretsManagerRedshiftRotationMultiUser": (REDSHIFT_MANAGED_CLUSTER, REDSHIFT_MANAGED_NAMESPACE),
}
# Functions that call DescribeSecret on every master secret they read (the others only on one
# holding nothing but username and password, an RDS-managed one).
DESCRIBES_EVERY_MASTER = frozenset({"SecretsManagerRedshiftRotationMultiUser"})
# Which replica hosts a function accepts (is_rds_replica_database; the Aurora reader path
# through get_cluster_info_from_master_host).
REPLICA_PATHS: dict[str, tuple[str, ...]] = {
    "SecretsManagerRDSDb2RotationMultiUser": (REPLICA_INSTANCE,),
    "SecretsManagerRDSDb2RotationSingleUser": (REPLICA_INSTANCE,),
    "SecretsManagerRDSMariaDBRotationMultiUser": (REPLICA_INSTANCE,),
    "SecretsManagerRDSMySQLRotationMultiUser": (REPLICA_INSTANCE, REPLICA_CLUSTER),
    "SecretsManagerRDSOracleRotationMultiUser": (REPLICA_INSTANCE,),
    "SecretsManagerRDSPostgreSQLRotationMultiUser": (REPLICA_INSTANCE, REPLICA_CLUSTER),
    "SecretsManagerRDSSQLServerRotationMultiUser": (REPLICA_INSTANCE,),
}

# IAM action of each boto3 operation (the API operation's name, service prefix first).
ACTIONS: dict[tuple[str, str], str] = {
    ("secretsmanager", "describe_secret"): "secretsmanager:DescribeSecret",
    ("secretsmanager", "get_random_password"): "secretsmanager:GetRandomPassword",
    ("secretsmanager", "get_secret_value"): "secretsmanager:GetSecretValue",
    ("secretsmanager", "put_secret_value"): "secretsmanager:PutSecretValue",
    ("secretsmanager", "update_secret_version_stage"): "secretsmanager:UpdateSecretVersionStage",
    ("rds", "describe_db_instances"): "rds:DescribeDBInstances",
    ("rds", "describe_db_clusters"): "rds:DescribeDBClusters",
    ("redshift", "describe_clusters"): "redshift:DescribeClusters",
    ("redshift-serverless", "list_namespaces"): "redshift-serverless:ListNamespaces",
    ("redshift-serverless", "list_workgroups"): "redshift-serverless:ListWorkgroups",
    ("ds", "describe_directories"): "ds:DescribeDirectories",
    ("ds", "reset_user_password"): "ds:ResetUserPassword",
    ("elasticache", "describe_users"): "elasticache:DescribeUsers",
    ("elasticache", "modify_user"): "elasticache:ModifyUser",
    ("timestream-influxdb", "get_db_instance"): "timestream-influxdb:GetDbInstance",
}

# The statements of generator/policies.py that calls map to.
ROTATE = "RotateSecrets"
READ_MASTER = "ReadMasterSecrets"
DESCRIBE_MASTER = "DescribeRdsManagedMasters"
RANDOM = "GetRandomPassword"
RDS_INSTANCES = "DescribeRdsInstances"
RDS_CLUSTERS = "DescribeRdsClusters"
DESCRIBE_ADMIN = "DescribeAdminSecrets"
REDSHIFT_CLUSTERS = "DescribeRedshiftClusters"
REDSHIFT_NAMESPACES = "ListRedshiftServerless"
REPLICA_INSTANCES = "DescribeReadReplicas"
REPLICA_CLUSTERS = "DescribeAuroraReaders"
# Every statement the table drives, in the order a policy lists them.
TABLE_SIDS = (
    ROTATE,
    READ_MASTER,
    DESCRIBE_MASTER,
    RDS_INSTANCES,
    RDS_CLUSTERS,
    DESCRIBE_ADMIN,
    REDSHIFT_CLUSTERS,
    REDSHIFT_NAMESPACES,
    REPLICA_INSTANCES,
    REPLICA_CLUSTERS,
    RANDOM,
)
REDSHIFT_ACTIONS_PAGE = "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonredshift.html"
REDSHIFT_SERVERLESS_ACTIONS_PAGE = (
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonredshiftserverless.html"
)

# Password options AWS's functions read from their environment, with the name of the
# GetRandomPassword parameter each sets. Defaults differ per function (RDSDb2 also excludes
# ';'), so the module sets only what the manifest gives.
PASSWORD_OPTIONS: dict[str, str] = {
    "EXCLUDE_CHARACTERS": "ExcludeCharacters",
    "PASSWORD_LENGTH": "PasswordLength",
    "EXCLUDE_NUMBERS": "ExcludeNumbers",
    "EXCLUDE_PUNCTUATION": "ExcludePunctuation",
    "EXCLUDE_UPPERCASE": "ExcludeUppercase",
    "EXCLUDE_LOWERCASE": "ExcludeLowercase",
    "REQUIRE_EACH_INCLUDED_TYPE": "RequireEachIncludedType",
}

# Alternating users: the longest user name each function accepts once it appends its clone
# suffix, and the environment variable that changes it (None: fixed in the code).
CLONE_SUFFIX = "_clone"
CLONE_LIMITS: dict[str, tuple[int, str | None]] = {
    "SecretsManagerRDSDb2RotationMultiUser": (16, None),
    "SecretsManagerRDSMariaDBRotationMultiUser": (80, None),
    "SecretsManagerRDSMySQLRotationMultiUser": (16, "USERNAME_CHARACTER_LIMIT"),
    "SecretsManagerRDSOracleRotationMultiUser": (30, None),
    "SecretsManagerRDSPostgreSQLRotationMultiUser": (63, None),
    "SecretsManagerRDSSQLServerRotationMultiUser": (128, None),
}


def function_for(engine: str, strategy: str) -> str:
    """The folder of AWS's function for an engine and strategy; engine ``other`` has none of
    its own, and AWS's generic template (the four rotation calls and GetRandomPassword) stands in."""
    infix = engines.application_infix(engine)
    if infix is None:
        return "SecretsManagerRotationTemplate"
    return f"SecretsManager{infix}Rotation{'SingleUser' if strategy == 'single_user' else 'MultiUser'}"


def reads_master(engine: str, strategy: str) -> bool:
    """Whether the function reads a master secret (``masterarn``): every alternating-users one
    (for engine ``other`` too, whose stand-in template reads none), and Db2's single-user one
    (a Db2 user cannot change its own password)."""
    return strategy == "alternating_users" or any(
        target == MASTER for (_s, _o, target) in CALLS[function_for(engine, strategy)]
    )


def master_kind(name: str, managed_by: str | None = None) -> str:
    """What kind of master secret a secret name (or the name part of its ARN) is: RDS names
    the secrets it manages rds!db-<id> and rds!cluster-<id>, Redshift its admin secrets
    redshift!<cluster or namespace>-<admin user>, prefixes no one else can use
    (https://docs.aws.amazon.com/secretsmanager/latest/userguide/service-linked-secrets.html).
    The Redshift name does not say whether a provisioned cluster or a Serverless namespace
    owns it: ``managed_by`` (the manifest's ``master_secret.managed_by``) does; without it the
    kind is :data:`REDSHIFT_MANAGED`, which the checks refuse where it matters."""
    if name.startswith("rds!db-"):
        return RDS_MANAGED_DB
    if name.startswith("rds!cluster-"):
        return RDS_MANAGED_CLUSTER
    if name.startswith("redshift!"):
        return MANAGED_BY.get(managed_by or "", REDSHIFT_MANAGED)
    return PLAIN


@dataclass(frozen=True)
class Use:
    """One call of AWS's function, and the statement that grants it (or why none does)."""

    function: str
    call: Call
    lines: tuple[int, ...]
    action: str
    sid: str | None
    reason: str

    @property
    def cite(self) -> str:
        lines = ", ".join(str(n) for n in self.lines)
        return f"{self.call[1]} (line{'s' if len(self.lines) > 1 else ''} {lines})"


_REPLICA = (
    "read-replica check (is_rds_replica_database), made only when the rotated secret's host differs "
    "from the master's: granted only for a secret whose replica_of_master names the replica (or with an "
    "RDS-managed master of this kind)"
)
_REDSHIFT = (
    "made only when the master is a Redshift-managed admin secret (tags aws:redshift:primaryclusterarn / "
    "aws:redshift-serverless:namespacearn; master_secret.managed_by says which): granted only for such a master"
)


def _decide(
    call: Call, masters: frozenset[str], replicas: frozenset[str], function: str
) -> tuple[list[tuple[str, str]], str]:
    """The statements that grant ``call`` given the kinds of master secret and replica host
    of a function's secrets, each with what it is for; or none, and why not."""
    service, operation, target = call
    if service == "secretsmanager":
        if target == SECRET:
            return [(ROTATE, "rotate the secret")], ""
        if target == NO_RESOURCE and operation == "get_random_password":
            return [(RANDOM, "create a new password")], ""
        if target == MASTER and operation == "get_secret_value":
            if masters:
                return [(READ_MASTER, "read the master secret (masterarn)")], ""
            return [], "only with a master secret"
        if target == MASTER and operation == "describe_secret":
            if function in DESCRIBES_EVERY_MASTER:
                if masters:
                    return [(DESCRIBE_ADMIN, "read the admin secret's tags, which name a Redshift-managed one's cluster or namespace")], ""  # fmt: skip
                return [], "only with a master secret"
            if masters & set(RDS_MANAGED_KINDS):
                return [(DESCRIBE_MASTER, "read the RDS-managed master's aws:rds:primarydb* tag")], ""
            return [], (
                "made only for a master secret holding nothing but username and password (RDS-managed, "
                "rds!db- / rds!cluster-), to read its aws:rds:primarydb* tag: not granted for other masters"
            )
    if service == "rds":
        out = []
        kind = RDS_MANAGED_DB if target == RDS_DB else RDS_MANAGED_CLUSTER
        if kind in masters and kind in RDS_MASTER_KINDS.get(function, ()):
            sid = RDS_INSTANCES if target == RDS_DB else RDS_CLUSTERS
            out.append((sid, "host, port and engine of the RDS-managed master's database"))
        replica = REPLICA_INSTANCE if target == RDS_DB else REPLICA_CLUSTER
        if replica in replicas and replica in REPLICA_PATHS.get(function, ()):
            sid = REPLICA_INSTANCES if target == RDS_DB else REPLICA_CLUSTERS
            what = (
                "a read replica of the master's instance"
                if target == RDS_DB
                else "an Aurora reader of the master's cluster"
            )
            out.append((sid, f"check that the secret's host is {what} (is_rds_replica_database)"))
        return out, "" if out else _REPLICA
    if service == "redshift" and REDSHIFT_MANAGED_CLUSTER in masters:
        return [(REDSHIFT_CLUSTERS, "host and port of the cluster the admin secret's aws:redshift:primaryclusterarn names")], ""  # fmt: skip
    if service == "redshift-serverless" and REDSHIFT_MANAGED_NAMESPACE in masters:
        return [(REDSHIFT_NAMESPACES, "host and port of the workgroup of the namespace the admin secret's aws:redshift-serverless:namespacearn names")], ""  # fmt: skip
    if service in ("redshift", "redshift-serverless"):
        return [], _REDSHIFT
    return [], UNSUPPORTED.get(function, f"rotation-tf does not know the call {service}.{operation}")


def uses(
    engine: str, strategy: str, masters: frozenset[str] = frozenset(), replicas: frozenset[str] = frozenset()
) -> tuple[Use, ...]:
    """Every call of AWS's function for ``engine`` x ``strategy``, each with the statement
    that grants it (a call two statements grant, for two kinds of secret, is listed once
    for each), given the kinds of master secret and of replica host its secrets have."""
    function = function_for(engine, strategy)
    out = []
    for call, lines in CALLS[function].items():
        granted, reason = _decide(call, masters, replicas, function)
        action = ACTIONS[(call[0], call[1])]
        out += [Use(function, call, lines, action, sid, why) for sid, why in granted]
        if not granted:
            out.append(Use(function, call, lines, action, None, reason))
    return tuple(out)


def actions(
    sid: str, engine: str, strategy: str, masters: frozenset[str] = frozenset(), replicas: frozenset[str] = frozenset()
) -> tuple[str, ...]:
    """The actions statement ``sid`` grants for this function: those of the calls it covers."""
    return tuple(sorted({u.action for u in uses(engine, strategy, masters, replicas) if u.sid == sid}))


def citation(
    sid: str, engine: str, strategy: str, masters: frozenset[str] = frozenset(), replicas: frozenset[str] = frozenset()
) -> tuple[str, ...]:
    """The AWS function and the calls behind statement ``sid`` (function first, then each call
    with its lines), for explain and the module README; empty when no call needs it."""
    mine = [u for u in uses(engine, strategy, masters, replicas) if u.sid == sid]
    if not mine:
        return ()
    return (mine[0].function, *(u.cite for u in mine))


@dataclass(frozen=True)
class Path:
    """What chooses the calls a rotation makes for one secret: its function's engine and
    strategy, the kind of its master secret (None: it reads none) and of its host when that
    is a replica of the master's database (None: the master's host)."""

    engine: str
    strategy: str
    master: str | None = None
    replica: str | None = None

    @property
    def function(self) -> str:
        return function_for(self.engine, self.strategy)

    @property
    def masters(self) -> frozenset[str]:
        return frozenset({self.master}) if self.master else frozenset()

    @property
    def replicas(self) -> frozenset[str]:
        return frozenset({self.replica}) if self.replica else frozenset()

    def needs(self) -> tuple[Use, ...]:
        """The calls this secret's rotation makes that a statement grants."""
        return tuple(u for u in uses(self.engine, self.strategy, self.masters, self.replicas) if u.sid is not None)

    def __str__(self) -> str:
        parts = [self.engine, self.strategy]
        if self.master:
            parts.append(f"master={self.master}")
        if self.replica:
            parts.append(f"replica={self.replica}")
        return "-".join(parts)


def strategies() -> tuple[str, ...]:
    from generator.manifest import Strategy

    return tuple(get_args(Strategy))


def paths() -> Iterator[Path]:
    """Every path the module can emit grants for: each engine and strategy; with a master
    secret, each kind of master the function can read; and each kind of replica host the
    function accepts, with each of those masters. A new engine, master kind or replica path
    in the tables joins by itself (tests/rotation/test_aws_calls.py, tests/unit/test_doctor_grants.py)."""
    for engine in engines.ENGINES:
        for strategy in strategies():
            function = function_for(engine, strategy)
            if not reads_master(engine, strategy):
                yield Path(engine, strategy)
                continue
            kinds = (PLAIN, *RDS_MASTER_KINDS.get(function, ()), *REDSHIFT_MASTER_KINDS.get(function, ()))
            for kind in kinds:
                yield Path(engine, strategy, kind)
            for replica in REPLICA_PATHS.get(function, ()):
                for kind in kinds:
                    yield Path(engine, strategy, kind, replica)
