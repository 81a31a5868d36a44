"""Wheel build hook: builds canhgac's native module (native/, Rust) into the wheel.

Without cargo, scripts/build-native says so and the wheel stays pure Python: the
Python references (literal scan, evtx JSON reading) then run (same results, slower).
"""

import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

# The wheel maps the checkout's folders under canhgac/ (pyproject), this one too.
PACKAGED_AS = "_native.abi3.so"


class NativeModuleBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        library = root / "build" / "wheel-native" / "_native.abi3.so"
        library.parent.mkdir(parents=True, exist_ok=True)
        library.unlink(missing_ok=True)
        subprocess.run(["bash", str(root / "scripts" / "build-native"), str(library)], check=True)
        if not library.exists():
            return
        build_data["force_include"][str(library)] = PACKAGED_AS
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
