"""The Helm chart `helm/isogov`, rendered by Helm's own Go engine (helm-python-sdk, no helm binary) for several
values sets; every manifest is validated against the Kubernetes schemas, and the invariants operators rely on are
asserted: one scheduler, the migration hook after its Secret, probes, non-root pods, rolling on config changes.

These tests need no database; they run in both passes of `make test`.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from helm_python import Chart
from helm_python.errors import HelmError

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "helm" / "isogov"
# the newest Kubernetes the validator ships schemas for, and the oldest the chart declares (Chart.yaml kubeVersion)
KUBE_VERSIONS = ("1.37", "1.27")

SECRETS = {
    "databaseUrl": "postgres://isogov:pw@pg-rw.db:5432/isogov",
    "redisUrl": "redis://redis.cache:6379/0",
    "secretKey": "k" * 48,
    "s3AccessKey": "isogov",
    "s3SecretKey": "s3-secret",
}
MINIMAL: dict[str, Any] = {"secrets": SECRETS, "config": {"ISOGOV_S3_ENDPOINT": "minio.storage:9000"}}
PRODUCTION: dict[str, Any] = {
    "image": {"repository": "registry.example.gov.vn/isogov", "digest": "sha256:" + "a" * 64},
    "imagePullSecrets": [{"name": "registry"}],
    "serviceAccount": {"create": True, "annotations": {"example.gov.vn/owner": "ops"}},
    "secrets": {"existingSecret": "isogov-production"},
    "extraEnv": [{"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "isogov-pg-app", "key": "uri"}}}],
    "config": {"ISOGOV_S3_ENDPOINT": "minio.storage:9000", "ISOGOV_PUBLIC_URL": "https://iso.example.gov.vn",
               "ISOGOV_SMTP_HOST": "smtp.example.gov.vn", "ISOGOV_DB_POOL_SIZE": "20", "ISOGOV_PLUGINS": "certification,evidence"},
    "api": {"replicas": 3, "topologySpreadConstraints": [{
        "maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": {"app.kubernetes.io/component": "api"}}}],
        "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}},
    "worker": {"replicas": 4, "tolerations": [{"key": "workload", "operator": "Equal", "value": "batch", "effect": "NoSchedule"}]},
    "scheduler": {"priorityClassName": "isogov-high"},
}
INGRESS: dict[str, Any] = {**MINIMAL, "api": {"ingress": {
    "enabled": True, "className": "nginx", "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "110m"},
    "hosts": [{"host": "iso.example.gov.vn", "paths": [{"path": "/", "pathType": "Prefix"}]}],
    "tls": [{"hosts": ["iso.example.gov.vn"], "secretName": "iso-tls"}]}}}
AUTOSCALING: dict[str, Any] = {**MINIMAL, "api": {"autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 8}},
                               "worker": {"autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 20,
                                                          "targetMemoryUtilizationPercentage": 80}}}
VALUE_SETS = {"minimal": MINIMAL, "production-existing-secret": PRODUCTION, "ingress": INGRESS, "autoscaling": AUTOSCALING}


def merged(*layers: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = merged(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
    return out


@pytest.fixture(scope="module")
def chart() -> Any:
    with Chart.load(CHART) as loaded:
        yield loaded


def render(chart: Any, values: dict[str, Any]) -> list[dict[str, Any]]:
    """Every manifest the chart renders (NOTES.txt left out), as dicts."""
    out = chart.render(values, name="iso", namespace="gov")
    docs = []
    for name, text in sorted(out.items()):
        if name.endswith("NOTES.txt"):
            continue
        docs += [doc for doc in yaml.safe_load_all(text) if doc]
    return docs


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def annotations(doc: dict[str, Any]) -> dict[str, str]:
    return doc["metadata"].get("annotations") or {}


def pod_specs(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d["spec"]["template"]["spec"] for d in docs if d["kind"] in ("Deployment", "Job")}


@pytest.fixture(scope="module")
def rendered(chart: Any) -> dict[str, list[dict[str, Any]]]:
    return {name: render(chart, values) for name, values in VALUE_SETS.items()}


@pytest.mark.parametrize("values_set", sorted(VALUE_SETS))
@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_every_manifest_is_valid_kubernetes(rendered: Any, values_set: str, kube_version: str) -> None:
    docs = rendered[values_set]
    assert len(docs) >= 8
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, kube_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{values_set}: {doc['kind']} {doc['metadata']['name']} is not valid for Kubernetes "
                        f"{kube_version}: {exc.message} at {'.'.join(map(str, exc.path))}")


def test_values_yaml_and_every_values_set_meet_the_schema() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    validator = jsonschema.Draft7Validator(schema)
    assert not list(validator.iter_errors(defaults))
    for values in VALUE_SETS.values():
        assert not list(validator.iter_errors(merged(defaults, values)))


def test_the_schema_refuses_two_schedulers_and_unknown_keys() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    validator = jsonschema.Draft7Validator(schema)
    errors = list(validator.iter_errors(merged(defaults, MINIMAL, {"scheduler": {"replicas": 2}})))
    assert [list(e.path) for e in errors] == [["scheduler", "replicas"]]
    sentinel = {"secrets": {"redisUrl": "redis+sentinel://:pw@redis.cache:26379/mymaster/0"}}
    assert not list(validator.iter_errors(merged(defaults, MINIMAL, sentinel)))
    for typo in ({"api": {"replica": 3}}, {"config": {"ISOGOV_LOGLEVEL": "DEBUG"}}, {"secret": {}},
                 {"secrets": {"redisUrl": "localhost:6379"}}, {"config": {"ISOGOV_EVIDENCE_MAX_BYTES_CEILING": 10737418240}}):
        assert list(validator.iter_errors(merged(defaults, MINIMAL, typo))), typo


def test_rendering_refuses_two_schedulers(chart: Any, tmp_path: Path) -> None:
    with pytest.raises(HelmError, match="scheduler/replicas"):
        chart.render(merged(MINIMAL, {"scheduler": {"replicas": 2}}), name="iso")
    # the template refuses it too, for a chart whose schema was dropped or bypassed
    copy_dir = tmp_path / "isogov"
    shutil.copytree(CHART, copy_dir)
    (copy_dir / "values.schema.json").unlink()
    with Chart.load(copy_dir) as unchecked:
        with pytest.raises(HelmError, match="scheduler.replicas must be 0 or 1"):
            unchecked.render(merged(MINIMAL, {"scheduler": {"replicas": 2}}), name="iso")
        assert render(unchecked, merged(MINIMAL, {"scheduler": {"replicas": 0}}))


@pytest.mark.parametrize("values_set", sorted(VALUE_SETS))
def test_exactly_one_scheduler_recreated_never_rolled(rendered: Any, values_set: str) -> None:
    docs = rendered[values_set]
    schedulers = [d for d in docs if d["kind"] == "Deployment"
                  and d["spec"]["template"]["spec"]["containers"][0]["args"] == ["scheduler"]]
    assert len(schedulers) == 1
    spec = schedulers[0]["spec"]
    assert spec["replicas"] == 1 and spec["strategy"] == {"type": "Recreate"}
    scaled = {d["spec"]["scaleTargetRef"]["name"] for d in docs if d["kind"] == "HorizontalPodAutoscaler"}
    budgets = {d["metadata"]["name"] for d in docs if d["kind"] == "PodDisruptionBudget"}
    assert schedulers[0]["metadata"]["name"] not in scaled | budgets


def hook_weight(doc: dict[str, Any]) -> int:
    return int(annotations(doc)["helm.sh/hook-weight"])


@pytest.mark.parametrize("values_set", sorted(VALUE_SETS))
def test_the_migration_hook_runs_after_what_it_reads(rendered: Any, values_set: str) -> None:
    docs = rendered[values_set]
    jobs = list(by_kind(docs, "Job").values())
    assert len(jobs) == 1
    job = jobs[0]
    notes = annotations(job)
    assert set(notes["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    assert notes["argocd.argoproj.io/hook"] == "PreSync"
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["args"] == ["migrate"] and pod["restartPolicy"] == "Never"
    refs = {("ConfigMap", r["configMapRef"]["name"]) if "configMapRef" in r else ("Secret", r["secretRef"]["name"])
            for r in container["envFrom"]}
    existing = VALUE_SETS[values_set]["secrets"].get("existingSecret")
    needed = {(kind, name) for kind, name in refs if not (kind == "Secret" and name == existing)}
    if pod["serviceAccountName"] != "default":
        needed.add(("ServiceAccount", pod["serviceAccountName"]))
    # everything the Job reads (but the operator's own Secret) is a hook of the same phases with a lower weight and an
    # earlier Argo CD sync wave: it exists before the Job on the first install too (the mastodon/chart#73 pain)
    for kind, name in needed:
        doc = by_kind(docs, kind)[name]
        # pre-rollback too: a rollback brings back the configuration of the release it returns to
        assert set(annotations(doc)["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade", "pre-rollback"}, name
        assert hook_weight(doc) < hook_weight(job), (kind, name)
        assert annotations(doc)["argocd.argoproj.io/hook"] == "PreSync"
        assert int(annotations(doc)["argocd.argoproj.io/sync-wave"]) < int(notes["argocd.argoproj.io/sync-wave"])
        assert "hook-succeeded" not in annotations(doc)["helm.sh/hook-delete-policy"]  # the Deployments read it later
    if existing:
        assert ("Secret", existing) in refs and not by_kind(docs, "Secret")
    else:
        assert ("Secret", "iso-isogov-secrets") in needed


def test_migrations_can_be_left_to_the_operator(chart: Any) -> None:
    assert not by_kind(render(chart, merged(MINIMAL, {"migrations": {"enabled": False}})), "Job")


@pytest.mark.parametrize("values_set", sorted(VALUE_SETS))
def test_probes(rendered: Any, values_set: str) -> None:
    containers = {d["spec"]["template"]["spec"]["containers"][0]["name"]: d["spec"]["template"]["spec"]["containers"][0]
                  for d in rendered[values_set] if d["kind"] == "Deployment"}
    assert set(containers) == {"api", "worker", "scheduler"}
    api = containers["api"]
    assert api["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}  # no I/O
    assert api["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}  # database and Redis
    assert api["startupProbe"]["httpGet"]["path"] == "/health"
    assert api["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert containers["worker"]["livenessProbe"]["exec"]["command"] == ["isogov", "worker", "--check"]
    assert containers["scheduler"]["livenessProbe"]["exec"]["command"] == ["isogov", "scheduler", "--check"]


@pytest.mark.parametrize("values_set", sorted(VALUE_SETS))
def test_pods_run_unprivileged_on_a_read_only_root(rendered: Any, values_set: str) -> None:
    specs = pod_specs(rendered[values_set])
    assert len(specs) == 4
    for name, pod in specs.items():
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0, name
        assert pod["automountServiceAccountToken"] is False
        tmp = {v["name"]: v for v in pod["volumes"]}["tmp"]
        assert "emptyDir" in tmp
        for container in pod["containers"]:
            ctx = container["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False and ctx["readOnlyRootFilesystem"] is True, name
            assert ctx["capabilities"]["drop"] == ["ALL"] and not ctx.get("privileged")
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]


def test_pods_roll_when_the_configuration_changes(chart: Any) -> None:
    def checksums(values: dict[str, Any]) -> dict[str, dict[str, str]]:
        return {name: {k: v for k, v in d["spec"]["template"]["metadata"]["annotations"].items() if k.startswith("checksum/")}
                for name, d in by_kind(render(chart, values), "Deployment").items()}

    base = checksums(MINIMAL)
    assert all(set(c) == {"checksum/config", "checksum/secret"} for c in base.values())
    config_changed = checksums(merged(MINIMAL, {"config": {"ISOGOV_LOG_LEVEL": "DEBUG"}}))
    secret_changed = checksums(merged(MINIMAL, {"secrets": {"secretKey": "n" * 48}}))
    for name in base:
        assert config_changed[name]["checksum/config"] != base[name]["checksum/config"]
        assert config_changed[name]["checksum/secret"] == base[name]["checksum/secret"]
        assert secret_changed[name]["checksum/secret"] != base[name]["checksum/secret"]
    assert checksums(MINIMAL) == base  # stable: no roll without a change


def readme_variables() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`((?:ISOGOV|DATABASE|REDIS)_[A-Z0-9_]+)`", section))


def test_every_readme_setting_reaches_the_pods(rendered: Any) -> None:
    docs = rendered["minimal"]
    config = by_kind(docs, "ConfigMap")["iso-isogov-config"]["data"]
    secret = by_kind(docs, "Secret")["iso-isogov-secrets"]["stringData"]
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    secret_vars = {"DATABASE_URL", "REDIS_URL", "ISOGOV_SECRET_KEY", "ISOGOV_S3_ACCESS_KEY", "ISOGOV_S3_SECRET_KEY",
                   "ISOGOV_SMTP_USER", "ISOGOV_SMTP_PASSWORD", "ISOGOV_MIGRATE_DATABASE_URL"}
    variables = readme_variables()
    assert len(variables) > 40
    missing = sorted(v for v in variables - secret_vars if v not in defaults["config"] and v not in config)
    assert not missing, (f"README settings the chart cannot set: {missing}; add each to `config` in helm/isogov/values.yaml, "
                         "values.schema.json and the chart README (or to the chart Secret when it is secret)")
    assert set(config) - set(defaults["config"]) == {"ISOGOV_ENV", "ISOGOV_HOST", "ISOGOV_PORT", "ISOGOV_VAR_DIR"}
    assert config["ISOGOV_ENV"] == "production" and config["ISOGOV_VAR_DIR"].startswith("/tmp/")
    assert secret_vars - {"ISOGOV_SMTP_USER", "ISOGOV_SMTP_PASSWORD", "ISOGOV_MIGRATE_DATABASE_URL"} <= set(secret)
    assert not secret_vars & set(config)
    assert "ISOGOV_SMTP_STARTTLS" not in config  # an empty value leaves isogov's own default


def test_missing_secrets_are_refused_with_a_clear_message(chart: Any) -> None:
    for drop, message in (("databaseUrl", "secrets.databaseUrl is required"), ("redisUrl", "secrets.redisUrl is required"),
                          ("secretKey", "at least 32 characters"), ("s3AccessKey", "secrets.s3AccessKey")):
        values = merged(MINIMAL)
        del values["secrets"][drop]
        with pytest.raises(HelmError, match=message):
            chart.render(values, name="iso")
    with pytest.raises(HelmError, match="ISOGOV_S3_ENDPOINT is required"):
        chart.render({"secrets": {"existingSecret": "mine"}}, name="iso")
    assert render(chart, {"secrets": {"existingSecret": "mine"}, "config": {"ISOGOV_EVIDENCE_BACKEND": "local"}})


def test_ingress_and_autoscaling_are_optional(rendered: Any) -> None:
    assert not by_kind(rendered["minimal"], "Ingress") and not by_kind(rendered["minimal"], "HorizontalPodAutoscaler")
    ingress = by_kind(rendered["ingress"], "Ingress")["iso-isogov-api"]["spec"]
    assert ingress["rules"][0]["http"]["paths"][0]["backend"]["service"] == {"name": "iso-isogov-api", "port": {"name": "http"}}
    assert ingress["tls"] == [{"hosts": ["iso.example.gov.vn"], "secretName": "iso-tls"}]
    docs = rendered["autoscaling"]
    hpas = {d["spec"]["scaleTargetRef"]["name"]: d["spec"] for d in docs if d["kind"] == "HorizontalPodAutoscaler"}
    assert set(hpas) == {"iso-isogov-api", "iso-isogov-worker"}
    assert hpas["iso-isogov-worker"]["maxReplicas"] == 20 and len(hpas["iso-isogov-worker"]["metrics"]) == 2
    deployments = by_kind(docs, "Deployment")
    assert "replicas" not in deployments["iso-isogov-api"]["spec"]  # the autoscaler owns it
    assert "replicas" not in deployments["iso-isogov-worker"]["spec"]
    assert deployments["iso-isogov-scheduler"]["spec"]["replicas"] == 1


def test_production_values_use_the_operators_secret_and_digest(chart: Any, rendered: Any) -> None:
    docs = rendered["production-existing-secret"]
    for name, pod in pod_specs(docs).items():
        container = pod["containers"][0]
        assert container["image"] == "registry.example.gov.vn/isogov@sha256:" + "a" * 64
        assert {"secretRef": {"name": "isogov-production"}} in container["envFrom"]
        assert container["env"][0]["valueFrom"]["secretKeyRef"] == {"name": "isogov-pg-app", "key": "uri"}
        assert pod["serviceAccountName"] == "iso-isogov"
    assert by_kind(docs, "Deployment")["iso-isogov-api"]["spec"]["replicas"] == 3
    notes = chart.render(PRODUCTION, name="iso", namespace="gov")["isogov/templates/NOTES.txt"]
    assert "isogov-production" in notes and "rollout restart" in notes


def value_paths(node: Any, prefix: str = "") -> list[str]:
    """Leaf paths of values.yaml, free-form maps and lists counted as one value."""
    if isinstance(node, dict) and node and prefix.split(".")[-1] not in FREE_FORM:
        return [p for key, value in node.items() for p in value_paths(value, f"{prefix}.{key}" if prefix else key)]
    return [prefix]


FREE_FORM = {"resources", "livenessProbe", "readinessProbe", "startupProbe", "podSecurityContext",
             "containerSecurityContext", "config"}


def test_the_chart_readme_documents_every_value() -> None:
    readme = (CHART / "README.md").read_text(encoding="utf-8")
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    missing = [p for p in value_paths(defaults) if f"`{p}`" not in readme]
    assert not missing, f"values without a line in helm/isogov/README.md: {missing}"
    undocumented = [k for k in defaults["config"] if f"`{k}`" not in (ROOT / "README.md").read_text(encoding="utf-8")]
    assert not undocumented


@pytest.mark.parametrize("values_set", sorted(VALUE_SETS))
def test_helm_lint_is_clean(values_set: str) -> None:
    import helm_python

    report = helm_python.lint(CHART, VALUE_SETS[values_set], strict=True, kube_version="v1.37.0")
    assert report["total_charts_linted"] == 1 and not report["errors"]
    assert [m for m in report["messages"] if m["severity"] >= 2] == []  # warnings and errors; "icon is recommended" is info


def test_the_owner_url_for_migrations_reaches_the_migration_job(chart: Any) -> None:
    owner = "postgres://isogov_owner:pw@pg-rw.db:5432/isogov"
    docs = render(chart, merged(MINIMAL, {"secrets": {"migrateDatabaseUrl": owner}}))
    secret = by_kind(docs, "Secret")["iso-isogov-secrets"]["stringData"]
    assert secret["ISOGOV_MIGRATE_DATABASE_URL"] == owner
    job = pod_specs(docs)["iso-isogov-migrate"]["containers"][0]
    assert {"secretRef": {"name": "iso-isogov-secrets"}} in job["envFrom"]
    assert "ISOGOV_MIGRATE_DATABASE_URL" not in by_kind(render(chart, MINIMAL), "Secret")["iso-isogov-secrets"]["stringData"]


def test_the_production_values_of_the_chart_readme_render_and_validate(chart: Any) -> None:
    readme = (CHART / "README.md").read_text(encoding="utf-8")
    block = readme.split("### The whole values file", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    values = yaml.safe_load(block)
    docs = render(chart, values)
    for doc in docs:
        kubernetes_validate.validate(doc, KUBE_VERSIONS[0], strict=True)
    assert {d["kind"] for d in docs} >= {"Deployment", "Service", "Ingress", "HorizontalPodAutoscaler", "Job"}
    paths = [p["path"] for p in by_kind(docs, "Ingress")["iso-isogov-api"]["spec"]["rules"][0]["http"]["paths"]]
    assert paths == ["/api", "/schema"]  # /metrics stays inside the cluster
