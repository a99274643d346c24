"""Stand-in for the get-pip.py script that ansible-test downloads.

ansible-test makes each sanity test's virtual environment without pip, then
bootstraps pip in it by running a get-pip.py that it fetches from a host outside
the package index, one this machine and CI cannot reach. It runs a cached copy
when there is one, so `make sanity` puts this file in that cache:

    python tests/utils/get_pip.py --install-in-cache

(with the Python that has ansible-test), and ansible-test then calls it as

    python get_pip.py --disable-pip-version-check pip==X.Y --no-setuptools --no-wheel

which we do with the pip wheel that ensurepip bundles: that pip installs the
requested pip from the package index.
"""

import glob
import os
import shutil
import subprocess
import sys

import ensurepip


def install_in_cache():
    """Copy this file to where ansible-test looks for its cached get-pip.py."""
    # Imported here: the bootstrap below runs where ansible-test is not installed.
    from ansible_test._internal.python_requirements import get_venv_packages
    from ansible_test._internal.host_configs import NativePythonConfig

    python = NativePythonConfig(version='%d.%d' % sys.version_info[:2], path=sys.executable)
    pip_version = get_venv_packages(python)['pip']
    # The same name as ansible_test/_util/target/setup/requirements.py uses.
    cache_path = os.path.expanduser('~/.ansible/test/cache/get_pip_%s.py' % pip_version.replace('.', '_'))
    if os.path.exists(cache_path):
        return
    os.makedirs(os.path.dirname(cache_path), exist_ok=True)
    shutil.copyfile(__file__, cache_path)
    print('installed %s as %s' % (__file__, cache_path))


def bootstrap(args):
    """Install pip into the running interpreter's environment, as get-pip.py does."""
    bundled = os.path.join(os.path.dirname(ensurepip.__file__), '_bundled')
    wheels = sorted(glob.glob(os.path.join(bundled, 'pip-*.whl')))
    if not wheels:
        sys.exit('get_pip.py: no pip wheel in %s' % bundled)
    # get-pip.py's own options; this bootstrap installs nothing but pip anyway.
    args = [arg for arg in args if arg not in ('--no-setuptools', '--no-wheel')]
    # A wheel is a zip archive that Python can run pip from directly.
    subprocess.check_call([sys.executable, os.path.join(wheels[-1], 'pip'), 'install'] + args)


def main():
    """Entry point."""
    if sys.argv[1:] == ['--install-in-cache']:
        install_in_cache()
    else:
        bootstrap(sys.argv[1:])


if __name__ == '__main__':
    main()
