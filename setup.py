"""Build hook (everything else is in pyproject.toml): the wheel ships the top-level ``conf/``
as ``semsim/conf``, where :data:`semsim.utils.CONF_DIR` finds it in an installed package. A
checkout and an editable install read ``conf/`` in place."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CONF = Path(__file__).resolve().parent / "conf"


class BuildPyWithConf(build_py):
    """``build_py`` that also copies ``conf/**/*.yaml`` into ``<build_lib>/semsim/conf``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "semsim" / "conf"
        shutil.rmtree(target, ignore_errors=True)
        for src in sorted(CONF.rglob("*.yaml")):
            dst = target / src.relative_to(CONF)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)


setup(cmdclass={"build_py": BuildPyWithConf})
