"""Kernels started by this server do not inherit the model key, nor the other variables the bridge holds secret.

The server keeps the key in its own environment (the proxy reads it at load, ``config.py``), and every kernel
would otherwise get a copy: jupyter_server builds a kernel's environment from ``os.environ`` (for
``POST /api/sessions``: ``SessionManager.get_kernel_env``, ``{**os.environ, JPY_SESSION_NAME}``; for
``POST /api/kernels`` nothing, and the provisioner falls back to ``os.environ``), and a restart relaunches with
the arguments of the first start (``KernelManager._launch_args``, refreshed from ``os.environ`` by
``update_env`` when a session is renamed). Prompt-injected code the agent runs could then read the key.

The seam all of these paths share is the provisioner: ``KernelProvisionerBase.pre_launch`` computes the final
environment (the given one or ``os.environ``, plus the kernelspec's ``env`` with ``${VAR}`` substituted) and
hands it to ``_finalize_env(env)`` just before the process is launched, on every start and restart, whatever the
provisioner (``LocalProvisioner`` and third-party ones that call ``super().pre_launch``, as they are told to).
``_finalize_env`` is wrapped, once per process, to delete the hidden names and any variable holding the key's
value under another name. It acts only for kernels of a server that loaded the extension: their kernel manager's
parent (the server's ``MappingKernelManager``) carries the names (``ATTRIBUTE``), so other kernel managers in the
same process (nbclient, other test servers) are left alone. The server's replays (``POST /aiev/verify``) pass
``scrubbed_environ`` themselves.

Not covered (the kernel runs as the same OS user as the server): ``/proc/<server pid>/environ`` (the server's
environment as it was at exec time, readable by that user), the server's config files, and remote (gateway)
kernels, whose environment the gateway builds. Kernels can still *use* the key through the proxy if they find
the server's token (its runtime file), but never read it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping

#: Attribute set on the server's MappingKernelManager: ``(names, values)`` its kernels must not inherit.
ATTRIBUTE = "aiev_hidden_env"
_MARKER = "__aiev_hidden_env__"


def scrubbed(env: Mapping[str, str], names: Iterable[str], values: Iterable[str] = ()) -> dict[str, str]:
    """A copy of ``env`` without ``names`` and without any variable whose value is one of ``values``."""
    names, values = set(names), {v for v in values if v}
    return {k: v for k, v in env.items() if k not in names and v not in values}


def scrubbed_environ(bridge) -> dict[str, str]:
    """``os.environ`` without what ``bridge`` (an ``AievBridge``) hides from kernels."""
    return scrubbed(os.environ, bridge.hidden_names(), [bridge.api_key])


def patch_provisioner() -> bool:
    """Wrap ``KernelProvisionerBase._finalize_env`` (idempotent); True when this call installed the wrapper."""
    from jupyter_client.provisioning.provisioner_base import KernelProvisionerBase

    original = KernelProvisionerBase._finalize_env
    if getattr(original, _MARKER, False):
        return False

    @functools.wraps(original)
    def _finalize_env(self, env: dict[str, str]) -> None:
        original(self, env)
        multi_kernel_manager = getattr(getattr(self, "parent", None), "parent", None)
        hidden = getattr(multi_kernel_manager, ATTRIBUTE, None)
        if hidden:
            names, values = hidden
            for key in [k for k, v in env.items() if k in names or v in values]:
                del env[key]

    setattr(_finalize_env, _MARKER, True)
    KernelProvisionerBase._finalize_env = _finalize_env
    return True


def apply(server_app, bridge) -> frozenset[str]:
    """Hide ``bridge``'s secret variables from the kernels of ``server_app``; returns the names hidden."""
    names = bridge.hidden_names()
    values = frozenset([bridge.api_key] if bridge.api_key else [])
    setattr(server_app.kernel_manager, ATTRIBUTE, (names, values))
    patch_provisioner()
    server_app.log.info("jupyterlab-aiev: kernels do not inherit %s", ", ".join(sorted(names)) or "(nothing)")
    return names
