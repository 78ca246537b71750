"""deploy/helm/mcpctl rendered by Helm's own engine (helm-python-sdk: Helm's Go SDK, no binary) for
several value sets, every manifest validated against the Kubernetes JSON schemas (kubernetes-validate),
the objects checked against each other, and the rendered commands run for real on PostgreSQL.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import git
import httpx
import pytest
import yaml

from gateway.gateway_harness import INITIALIZE, free_port

from .deploy_harness import (
    CHART,
    DEPLOY,
    REPLICA_FLAGS,
    ROOT,
    expand_k8s,
    mcpctl_process,
    missing,
    run_to_end,
    running,
    unknown_flags,
    wait_http_ok,
)

Manifest = dict[str, Any]

DATABASE_URL = "postgresql://mcpctl:secret@postgres.db.svc:5432/mcpctl"
GIT_URL = "https://git.example.com/platform/mcp-config.git"
MINIMAL: dict[str, Any] = {"store": {"databaseUrl": DATABASE_URL}, "reconciler": {"git": {"url": GIT_URL}}}


def merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        out[key] = (
            merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        )
    return out


COMBINATIONS: dict[str, dict[str, Any]] = {
    "minimal": MINIMAL,
    "cronjob": merged(MINIMAL, {"reconciler": {"mode": "cronjob", "tokenOutput": {"enabled": True}}}),
    "servicemonitor": merged(MINIMAL, {"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}}),
    "existing-secret": {
        "secrets": {"existingSecret": "mcpctl-store"},
        "reconciler": {"git": {"url": GIT_URL}, "webhook": {"enabled": True}},
    },
    "no-reconciler": {"store": {"databaseUrl": DATABASE_URL}, "reconciler": {"enabled": False}},
    "everything": merged(
        MINIMAL,
        {
            "image": {"repository": "registry.example.com/mcpctl", "tag": "0.1.0-rc1"},
            "imagePullSecrets": [{"name": "registry"}],
            "secrets": {"webhookSecret": "hook"},
            "gateway": {
                "allowedHosts": ["mcp.internal.example.com"],
                "env": {"MCPCTL_TEAM": "platform"},
                "upstreamSecrets": [{"name": "everything"}, {"name": "github", "secretName": "gh-token"}],
            },
            "service": {"port": 80},
            "ingress": {
                "enabled": True,
                "className": "nginx",
                "hosts": [{"host": "mcp.example.com"}],
                "tls": [{"secretName": "mcp-tls", "hosts": ["mcp.example.com"]}],
            },
            "autoscaling": {"enabled": True, "targetMemoryUtilizationPercentage": 80},
            "networkPolicy": {
                "ingressFrom": [{"namespaceSelector": {"matchLabels": {"name": "ingress-nginx"}}}],
                "egress": [
                    {"ports": [{"port": 53, "protocol": "UDP"}]},
                    {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]},
                ],
            },
            "serviceMonitor": {"enabled": True},
            "reconciler": {
                "git": {
                    "ref": "main",
                    "path": "config",
                    "credentialsSecret": "git-creds",
                    "sshSecret": "git-ssh",
                },
                "tokenOutput": {"enabled": True, "existingClaim": "tokens"},
                "webhook": {"enabled": True},
                "pruneAll": True,
            },
        },
    ),
    "replica": merged(
        MINIMAL,
        {"redis": {"enabled": True, "url": "redis://redis:6379/0"}, "gateway": {"rateLimitPerToken": 2000}},
    ),
}

K8S_VERSIONS = ("1.25.0", "latest")


def imported(module: str, what: str) -> Any:
    try:
        return __import__(module)
    except ImportError:
        missing(f"{what} is not installed")


@pytest.fixture(scope="module")
def helm() -> Any:
    return imported("helm_python", "helm-python-sdk (Helm's renderer)")


@pytest.fixture(scope="module")
def kubernetes_validate() -> Any:
    return imported("kubernetes_validate", "kubernetes-validate (the Kubernetes JSON schemas)")


def render(helm: Any, values: dict[str, Any], namespace: str = "mcp") -> list[Manifest]:
    with helm.Chart.load(str(CHART)) as chart:
        rendered = chart.render(values, name="prod", namespace=namespace, is_install=True)
    manifests: list[Manifest] = []
    for path, text in sorted(rendered.items()):
        if not path.endswith("NOTES.txt"):
            manifests.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return manifests


@pytest.fixture(scope="module")
def rendered(helm: Any) -> dict[str, list[Manifest]]:
    return {name: render(helm, values) for name, values in COMBINATIONS.items()}


def one(manifests: list[Manifest], kind: str, suffix: str = "") -> Manifest:
    found = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"].endswith(suffix)]
    assert len(found) == 1, f"{kind} *{suffix}: {[m['metadata']['name'] for m in found]}"
    return found[0]


def pod_specs(manifests: list[Manifest]) -> Iterator[tuple[str, dict[str, Any]]]:
    for m in manifests:
        if m["kind"] == "Deployment":
            yield m["metadata"]["name"], m["spec"]["template"]
        elif m["kind"] == "CronJob":
            yield m["metadata"]["name"], m["spec"]["jobTemplate"]["spec"]["template"]


def gateway_container(manifests: list[Manifest]) -> dict[str, Any]:
    (container,) = one(manifests, "Deployment", "mcpctl")["spec"]["template"]["spec"]["containers"]
    return container


def reconciler_container(manifests: list[Manifest]) -> dict[str, Any]:
    template = next(t for name, t in pod_specs(manifests) if name.endswith("-reconciler"))
    (container,) = template["spec"]["containers"]
    return container


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def config_env(manifests: list[Manifest]) -> dict[str, str]:
    """What the containers' environment holds: the ConfigMap's data and the chart Secret's values."""
    env = dict(one(manifests, "ConfigMap")["data"])
    secrets = [m for m in manifests if m["kind"] == "Secret"]
    if secrets:
        env["MCPCTL_DATABASE_URL"] = secrets[0]["stringData"]["database-url"]
        if "redis-url" in secrets[0]["stringData"]:
            env["MCPCTL_REDIS_URL"] = secrets[0]["stringData"]["redis-url"]
    return env


def test_rendering_without_a_store_or_repository_fails_and_says_what_is_missing(helm: Any) -> None:
    cases = [
        ({}, "store.databaseUrl (a postgresql:// URL) or secrets.existingSecret"),
        ({"store": {"databaseUrl": DATABASE_URL}}, "reconciler.git.url is required"),
        (
            merged(MINIMAL, {"store": {"databaseUrl": "sqlite:////data/mcpctl.db"}}),
            "must be a postgresql:// URL",
        ),
        (merged(MINIMAL, {"redis": {"enabled": True}}), "redis.enabled needs redis.url"),
        (merged(MINIMAL, {"reconciler": {"webhook": {"enabled": True}}}), "needs secrets.webhookSecret"),
    ]
    for values, message in cases:
        with pytest.raises(helm.HelmRenderError, match=re.escape(message)):
            render(helm, values)


def test_values_schema_names_the_wrong_field(helm: Any) -> None:
    with pytest.raises(
        helm.HelmValuesError, match=r"at '/gateway': additional properties 'replica' not allowed"
    ):
        render(helm, merged(MINIMAL, {"gateway": {"replica": 3}}))
    with pytest.raises(helm.HelmValuesError, match=r"/reconciler/mode"):
        render(helm, merged(MINIMAL, {"reconciler": {"mode": "job"}}))


@pytest.mark.parametrize("combination", sorted(COMBINATIONS))
def test_helm_lint_is_clean(helm: Any, combination: str) -> None:
    report = helm.lint(str(CHART), COMBINATIONS[combination], strict=True)
    problems = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
    assert not problems, problems


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("combination", sorted(COMBINATIONS))
def test_manifests_are_valid_kubernetes_objects(
    kubernetes_validate: Any, rendered: dict[str, list[Manifest]], combination: str, version: str
) -> None:
    target = kubernetes_validate.utils.latest_version() if version == "latest" else version
    checked = 0
    for manifest in rendered[combination]:
        if manifest["apiVersion"] == "monitoring.coreos.com/v1":
            continue  # a CRD, not in the Kubernetes schemas: test_service_monitor_scrapes_every_gateway_pod
        kubernetes_validate.validate(manifest, target, strict=True)
        checked += 1
    assert checked >= 6


def test_the_validator_catches_a_wrong_field(
    kubernetes_validate: Any, rendered: dict[str, list[Manifest]]
) -> None:
    deployment = copy.deepcopy(one(rendered["minimal"], "Deployment", "mcpctl"))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["paht"] = "/healthz"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.25.0", strict=True)


MINIMAL_OBJECTS = {
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "Service",
    "Deployment",
    "Deployment/reconciler",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "NetworkPolicy/reconciler",
}


def kinds(manifests: list[Manifest]) -> set[str]:
    return {
        m["kind"]
        + ("/reconciler" if m["metadata"]["name"].endswith("-reconciler") else "")
        + ("/webhook" if m["metadata"]["name"].endswith("-webhook") else "")
        for m in manifests
    }


def test_each_combination_renders_the_objects_it_asks_for(rendered: dict[str, list[Manifest]]) -> None:
    base = MINIMAL_OBJECTS
    assert kinds(rendered["minimal"]) == base
    assert kinds(rendered["cronjob"]) == base - {"Deployment/reconciler"} | {
        "CronJob/reconciler",
        "PersistentVolumeClaim",
    }
    assert kinds(rendered["servicemonitor"]) == base | {"ServiceMonitor"}
    assert kinds(rendered["existing-secret"]) == base - {"Secret"} | {"Service/webhook"}
    assert kinds(rendered["no-reconciler"]) == base - {"Deployment/reconciler", "NetworkPolicy/reconciler"}
    assert kinds(rendered["everything"]) == base | {
        "Ingress",
        "HorizontalPodAutoscaler",
        "ServiceMonitor",
        "Service/webhook",
    }
    assert "replicas" not in one(rendered["everything"], "Deployment", "mcpctl")["spec"]  # the HPA decides


def test_selectors_and_targets_agree(rendered: dict[str, list[Manifest]]) -> None:
    for manifests in rendered.values():
        gateway = one(manifests, "Deployment", "mcpctl")
        pod_labels = gateway["spec"]["template"]["metadata"]["labels"]
        assert gateway["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
        service = one(manifests, "Service", "mcpctl")
        assert selects(service["spec"]["selector"], pod_labels)
        (port,) = service["spec"]["ports"]
        container = gateway_container(manifests)
        assert port["targetPort"] in {p["name"] for p in container["ports"]}
        for m in manifests:
            if m["kind"] in ("PodDisruptionBudget", "NetworkPolicy") and not m["metadata"]["name"].endswith(
                "-reconciler"
            ):
                selector = m["spec"].get("selector") or m["spec"]["podSelector"]
                assert selects(selector["matchLabels"], pod_labels), m["metadata"]["name"]
            if m["kind"] == "HorizontalPodAutoscaler":
                assert m["spec"]["scaleTargetRef"]["name"] == gateway["metadata"]["name"]
            if m["kind"] == "Ingress":
                for rule in m["spec"]["rules"]:
                    backend = rule["http"]["paths"][0]["backend"]["service"]
                    assert backend["name"] == service["metadata"]["name"]
                    assert backend["port"]["name"] == port["name"]
        reconcilers = [t for n, t in pod_specs(manifests) if n.endswith("-reconciler")]
        for m in manifests:
            if m["metadata"]["name"].endswith(("-reconciler", "-reconciler-webhook")) and m["kind"] in (
                "NetworkPolicy",
                "Service",
            ):
                selector = m["spec"].get("podSelector", {}).get("matchLabels") or m["spec"]["selector"]
                assert reconcilers and selects(selector, reconcilers[0]["metadata"]["labels"])
                assert not selects(selector, pod_labels)


def test_service_monitor_scrapes_every_gateway_pod(rendered: dict[str, list[Manifest]]) -> None:
    manifests = rendered["servicemonitor"]
    monitor = one(manifests, "ServiceMonitor")
    service = one(manifests, "Service", "mcpctl")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert selects(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["mcp"]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint == {"port": "http", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s"}
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert "ServiceMonitor" not in kinds(rendered["minimal"])


def test_references_resolve(rendered: dict[str, list[Manifest]]) -> None:
    for combination, manifests in rendered.items():
        config_maps = {m["metadata"]["name"]: m["data"] for m in manifests if m["kind"] == "ConfigMap"}
        secrets = {m["metadata"]["name"]: m["stringData"] for m in manifests if m["kind"] == "Secret"}
        existing = COMBINATIONS[combination].get("secrets", {}).get("existingSecret")
        claims = {m["metadata"]["name"] for m in manifests if m["kind"] == "PersistentVolumeClaim"}
        for name, template in pod_specs(manifests):
            spec = template["spec"]
            volumes = {v["name"]: v for v in spec["volumes"]}
            for container in spec["containers"]:
                for source in container.get("envFrom", []):
                    assert source["configMapRef"]["name"] in config_maps
                for variable in container.get("env", []):
                    ref = variable.get("valueFrom", {}).get("secretKeyRef")
                    if ref and ref["name"] == existing:
                        continue
                    if ref:
                        assert ref["key"] in secrets[ref["name"]], (
                            f"{combination}: {name}: {variable['name']}"
                        )
                for mount in container["volumeMounts"]:
                    assert mount["name"] in volumes, f"{combination}: {name}: {mount['name']}"
                for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                    if probe in container:
                        port = container[probe]["httpGet"]["port"]
                        assert port in {p["name"] for p in container["ports"]}
            for volume in volumes.values():
                if "persistentVolumeClaim" in volume:
                    claim = volume["persistentVolumeClaim"]["claimName"]
                    assert claim in claims or claim == COMBINATIONS[combination]["reconciler"][
                        "tokenOutput"
                    ].get("existingClaim")


def dockerfile_user() -> int:
    users = re.findall(r"^USER (\d+)", (DEPLOY / "Dockerfile").read_text(), re.MULTILINE)
    return int(users[-1])


def test_every_pod_runs_as_the_image_user_on_a_read_only_root(rendered: dict[str, list[Manifest]]) -> None:
    for manifests in rendered.values():
        for name, template in pod_specs(manifests):
            spec = template["spec"]
            assert spec["securityContext"]["runAsNonRoot"] is True
            assert spec["securityContext"]["runAsUser"] == dockerfile_user(), name
            assert spec["automountServiceAccountToken"] is False
            for container in spec["containers"]:
                context = container["securityContext"]
                assert context["readOnlyRootFilesystem"] is True
                assert context["allowPrivilegeEscalation"] is False
                assert context["capabilities"]["drop"] == ["ALL"]
                assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
                # What mcpctl and its upstreams write goes to volumes, not the read-only image.
                mounted = {m["mountPath"] for m in container["volumeMounts"]}
                assert {"/tmp", "/home/mcpctl"} <= mounted
    assert gateway_container(rendered["minimal"])["image"] == "mcpctl:0.1.0"
    assert gateway_container(rendered["everything"])["image"] == "registry.example.com/mcpctl:0.1.0-rc1"


def test_gateway_probes_and_port(rendered: dict[str, list[Manifest]]) -> None:
    container = gateway_container(rendered["minimal"])
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert config_env(rendered["minimal"])["MCPCTL_HEALTH_URL"] == "http://127.0.0.1:8080/healthz"


def effective_args(manifests: list[Manifest], container: dict[str, Any]) -> list[str]:
    env = config_env(manifests)
    return [expand_k8s(arg, env) for arg in container["args"]]


@pytest.mark.parametrize("combination", sorted(COMBINATIONS))
def test_container_args_use_only_flags_that_exist(
    rendered: dict[str, list[Manifest]], combination: str
) -> None:
    manifests = rendered[combination]
    for _name, template in pod_specs(manifests):
        for container in template["spec"]["containers"]:
            args = effective_args(manifests, container)
            assert not [a for a in args if "$(" in a], f"unexpanded: {args}"
            assert unknown_flags(args) is None, args
    if combination != "replica":
        assert not REPLICA_FLAGS & set(gateway_container(manifests)["args"])


def test_replica_settings_are_passed_only_when_asked_for(rendered: dict[str, list[Manifest]]) -> None:
    args = effective_args(rendered["replica"], gateway_container(rendered["replica"]))
    assert args[args.index("--redis-url") + 1] == "redis://redis:6379/0"
    assert args[args.index("--rate-limit-per-token") + 1] == "2000"
    assert one(rendered["replica"], "Secret")["stringData"]["redis-url"] == "redis://redis:6379/0"
    minimal = gateway_container(rendered["minimal"])
    assert "MCPCTL_REDIS_URL" not in {v["name"] for v in minimal["env"]}
    assert "redis-url" not in one(rendered["minimal"], "Secret")["stringData"]


def allowed_hosts(container: dict[str, Any]) -> list[str]:
    args = container["args"]
    return [args[i + 1] for i, arg in enumerate(args) if arg == "--allowed-host"]


def test_the_gateway_accepts_its_service_and_ingress_names(rendered: dict[str, list[Manifest]]) -> None:
    assert allowed_hosts(gateway_container(rendered["minimal"])) == [
        "prod-mcpctl:8080",
        "prod-mcpctl.mcp:8080",
        "prod-mcpctl.mcp.svc:8080",
        "prod-mcpctl.mcp.svc.cluster.local:8080",
    ]
    everything = allowed_hosts(gateway_container(rendered["everything"]))
    assert {"prod-mcpctl", "prod-mcpctl:80", "prod-mcpctl.mcp.svc.cluster.local", "mcp.example.com"} <= set(
        everything
    )
    assert "mcp.internal.example.com" in everything


def test_reconciler_modes(rendered: dict[str, list[Manifest]]) -> None:
    deployment = one(rendered["minimal"], "Deployment", "-reconciler")
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"] == {"type": "Recreate"}
    args = reconciler_container(rendered["minimal"])["args"]
    assert args == ["reconcile", "--repo", GIT_URL, "--interval", "60s"]
    cronjob = one(rendered["cronjob"], "CronJob")
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    args = reconciler_container(rendered["cronjob"])["args"]
    assert args[-1] == "--once" and "--token-output" in args and "--webhook-listen" not in args
    everything = reconciler_container(rendered["everything"])
    assert everything["args"][:8] == [
        "reconcile",
        "--repo",
        GIT_URL,
        "--ref",
        "main",
        "--path",
        "config",
        "--interval",
    ]
    assert {"--prune-all", "--webhook-listen"} <= set(everything["args"])
    assert everything["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "webhook"}


def test_git_credentials_reach_git(rendered: dict[str, list[Manifest]], tmp_path: Path) -> None:
    env = {v["name"]: v["value"] for v in reconciler_container(rendered["everything"])["env"] if "value" in v}
    helper = subprocess.run(
        ["git", "config", "--get", "credential.helper"],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert helper.stdout.strip() == "store --file=/etc/mcpctl/git/.git-credentials"
    mounts = {m["mountPath"] for m in reconciler_container(rendered["everything"])["volumeMounts"]}
    assert {"/etc/mcpctl/git", "/etc/mcpctl/git-ssh"} <= mounts
    # mcpctl adds BatchMode itself only when GIT_SSH_COMMAND is unset: the chart's must keep it.
    assert "-o BatchMode=yes" in env["GIT_SSH_COMMAND"]
    assert "/etc/mcpctl/git-ssh/known_hosts" in env["GIT_SSH_COMMAND"]


def config_repository(path: Path) -> str:
    shutil.copytree(ROOT / "examples" / "config-repo", path)
    repo = git.Repo.init(path, initial_branch="main")
    repo.git.add(A=True)
    repo.index.commit(
        "config", author=git.Actor("t", "t@example.com"), committer=git.Actor("t", "t@example.com")
    )
    return str(path)


def local(
    container: dict[str, Any], manifests: list[Manifest], paths: dict[str, str], port: int
) -> list[str]:
    """The container's args with its in-pod paths, address and port swapped for this machine's."""
    swap = {"0.0.0.0": "127.0.0.1", "8080": str(port), **paths}
    return [swap.get(arg, arg) for arg in effective_args(manifests, container)]


def test_the_rendered_commands_run_on_postgres(helm: Any, postgres_database_url: str, tmp_path: Path) -> None:
    """The CronJob's pass applies a real git repository; the gateway's pod command then serves it."""
    values = merged(
        COMBINATIONS["cronjob"],
        {
            "store": {"databaseUrl": postgres_database_url},
            "reconciler": {"git": {"url": config_repository(tmp_path / "config-repo")}},
            "gateway": {"upstreamSecrets": [{"name": "everything"}]},
        },
    )
    manifests = render(helm, values)
    secrets = tmp_path / "secrets"
    shutil.copytree(ROOT / "examples" / "secrets", secrets, ignore=shutil.ignore_patterns("*.md"))
    paths = {"/var/lib/mcpctl/tokens": str(tmp_path / "tokens"), "/etc/mcpctl/secrets": str(secrets)}
    env = {
        **{key: paths.get(value, value) for key, value in config_env(manifests).items()},
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    run_to_end(mcpctl_process(local(reconciler_container(manifests), manifests, paths, 0), env, tmp_path))
    token = (tmp_path / "tokens" / "platform.ci-bot.token").read_text().strip()

    port = free_port()
    container = gateway_container(manifests)
    with running(mcpctl_process(local(container, manifests, paths, port), env, tmp_path)) as gateway:
        base = f"http://127.0.0.1:{port}"
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            wait_http_ok(base + container[probe]["httpGet"]["path"], gateway)
        assert "mcpctl_store_generation" in httpx.get(f"{base}/metrics", timeout=10).text
        projects = httpx.get(
            f"{base}/api/v1/projects", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert projects.status_code == 200, projects.text
        # The admin API shows a token its own project at most (ci-bot may view nothing): never another one.
        assert {project["name"] for project in projects.json()} <= {"platform"}
        me = httpx.get(f"{base}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert me.status_code == 200 and me.json()["project"] == "platform", me.text
        # A client reaching the gateway by its Service name passes the Host check.
        initialize = httpx.post(
            f"{base}/projects/platform/mcp",
            headers={
                "Authorization": f"Bearer {token}",
                "Host": allowed_hosts(container)[0],
                "Accept": "application/json, text/event-stream",
            },
            json=INITIALIZE,
            timeout=10,
        )
        assert initialize.status_code == 200, initialize.text
        assert initialize.headers["mcp-session-id"]
