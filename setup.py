"""Only here so that ``pip install -e .`` installs the data files too, as ``pip install .`` does.

pyproject.toml holds the whole configuration. Its ``data-files`` are the
prebuilt JupyterLab extension and the config enabling the server extension
``jetnb.jupyter``; without them in ``sys.prefix`` neither JupyterLab nor Jupyter
Server would find jetnb. setuptools' editable wheel means to copy data files
("installing data as non editable"), but looks for them with
``distribution.has_data``, which no distribution has (only the install command
does), so it never copies them. This command asks the question that works.
``tests/test_browser_sidebar.py`` checks the result in the test environment,
which ``.ci/run`` installs with ``pip install -e``.
"""

from setuptools import setup
from setuptools.command.editable_wheel import editable_wheel


class EditableWheelWithDataFiles(editable_wheel):
    def _run_install(self, category: str) -> None:
        if category == "data" and self.distribution.has_data_files():
            self.run_command("install_data")  # into the editable wheel's .data/data, as for a regular wheel
        else:
            super()._run_install(category)


setup(cmdclass={"editable_wheel": EditableWheelWithDataFiles})
