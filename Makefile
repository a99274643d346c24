# Developer and CI entry points for the dockerlite.core collection.
# `make test` runs everything in the order CI does; see README.md.

PYTHON ?= python3
VENV ?= $(CURDIR)/.venv
BUILD ?= $(CURDIR)/.build

# ansible-test only works on a tree laid out as ansible_collections/<ns>/<name>.
COLLECTION_DIR := $(BUILD)/ansible_collections/dockerlite/core
VENV_STAMP := $(VENV)/.requirements-installed

# Every recipe sees the venv's tools first; ansible-test --python 3.11 also finds
# the venv's python3.11 this way.
export PATH := $(VENV)/bin:$(PATH)

.PHONY: all test venv collection sanity lint units integration integration-216 venv-216 units-216 sanity-216 \
	readme-test clean fleet-test

all: test

# Each step is a separate sub-make so that `make -j test` still runs them in order
# and the first failure stops the rest.
test:
	$(MAKE) venv
	$(MAKE) collection
	$(MAKE) sanity
	$(MAKE) sanity-216
	$(MAKE) lint
	$(MAKE) units
	$(MAKE) units-216
	$(MAKE) integration
	$(MAKE) integration-216
	$(MAKE) readme-test

venv: $(VENV_STAMP)

# ansible==12.* pins ansible-core to 2.19.x.
$(VENV_STAMP):
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet 'ansible==12.*' ansible-lint pytest antsibull-changelog
	touch $@

# ansible-test lists the files to test with git, from the nearest .git upwards;
# the copy gets a repository of its own, or it would find ours, in which .build
# is ignored, and test nothing. Untracked files are listed too, so nothing has
# to be added to it.
collection:
	mkdir -p $(COLLECTION_DIR)
	test -d $(COLLECTION_DIR)/.git || git -C $(COLLECTION_DIR) init --quiet
	rsync -a --delete \
		--exclude=/.git --exclude=/.venv --exclude=/.venv-2.16 --exclude=/.venv-bench-modules --exclude=/.build --exclude=/.ansible \
		--exclude=/tests/output --exclude=__pycache__ \
		$(CURDIR)/ $(COLLECTION_DIR)/

# ansible-test makes a virtual environment per sanity test and bootstraps pip in
# it with a get-pip.py that it downloads from a host outside the package index,
# which CI cannot reach; it uses a cached copy when there is one, so we put our
# stand-in there first.
sanity: venv collection
	$(VENV)/bin/python tests/utils/get_pip.py --install-in-cache
	cd $(COLLECTION_DIR) && ansible-test sanity --requirements --python 3.11

# offline: true in .ansible-lint also stops ansible-lint from installing this
# collection for itself, so it finds our modules (and checks their arguments)
# in the copy.
lint: venv collection
	ANSIBLE_COLLECTIONS_PATH=$(BUILD) ansible-lint

# Plain pytest in the copy, with $(BUILD) on the path so that
# ansible_collections.dockerlite.core imports resolve (ansible-test units works
# too, but takes ten times as long and adds packages to the venv).
units: venv collection
	cd $(COLLECTION_DIR) && PYTHONPATH=$(BUILD) $(VENV)/bin/python -m pytest tests/unit

# Three runs side by side (tests/integration/run.sh, DLT_JOBS): the targets wait on LXC, on
# ansible-playbook start-up and on nested playbooks as much as they compute, so three fit on a
# 2-CPU host, and the suite (28 targets) stays within CI's half hour.
INTEGRATION_JOBS ?= 3
integration: venv collection
	DLT_JOBS=$(INTEGRATION_JOBS) VENV=$(VENV) BUILD=$(BUILD) tests/integration/run.sh

# The oldest ansible-core that meta/runtime.yml claims, in a venv of its own: the
# unit tests, the sanity tests below, and the integration targets where a raw Python
# exception could reach the user (2.16 prints a whole traceback for one) run with it
# too. The modules still run on the managed host's /usr/bin/python3.
ANSIBLE_CORE_216_VENV ?= $(CURDIR)/.venv-2.16
INTEGRATION_216_TARGETS ?= store_recovery
# The stamp's name changes with the list of packages, so an older venv gets the new ones.
VENV_216_STAMP := $(ANSIBLE_CORE_216_VENV)/.requirements-installed-pytest

venv-216: $(VENV_216_STAMP)

$(VENV_216_STAMP):
	test -x $(ANSIBLE_CORE_216_VENV)/bin/python || $(PYTHON) -m venv $(ANSIBLE_CORE_216_VENV)
	$(ANSIBLE_CORE_216_VENV)/bin/python -m pip install --quiet 'ansible-core==2.16.*' pytest
	touch $@

units-216: venv-216 collection
	cd $(COLLECTION_DIR) && PYTHONPATH=$(BUILD) $(ANSIBLE_CORE_216_VENV)/bin/python -m pytest -q tests/unit

# ansible-test 2.16's own sanity tests, on the same copy, with the 2.16 venv first on
# PATH: what ansible-core itself judges (validate-modules, ansible-doc, runtime-metadata,
# import, compile, the code-smell tests). Left out are the tests that only run a
# linter whose verdict does not depend on ansible-core, which `make sanity` already runs
# (newer versions of the same tools); each costs a virtualenv, pylint minutes. The
# get-pip stand-in is put in the cache under the name that this ansible-test's pip asks for.
SANITY_216_SKIP ?= pylint pep8 yamllint changelog

sanity-216: venv-216 collection
	$(ANSIBLE_CORE_216_VENV)/bin/python tests/utils/get_pip.py --install-in-cache
	cd $(COLLECTION_DIR) && PATH=$(ANSIBLE_CORE_216_VENV)/bin:$(PATH) ansible-test sanity --requirements \
		--python 3.11 $(foreach test,$(SANITY_216_SKIP),--skip-test $(test))

integration-216: venv-216 collection
	VENV=$(ANSIBLE_CORE_216_VENV) BUILD=$(BUILD) tests/integration/run.sh $(INTEGRATION_216_TARGETS)

# The README's commands, from a fresh clone of this repository (what is committed),
# on a throwaway loopback store: install from a tarball and from the checkout, the
# first playbook (twice), the Modules playbook and ad hoc command, the fleet command,
# the inventory and connection plugin examples; see tests/readme/run_readme.py.
readme-test: venv
	VENV=$(VENV) $(VENV)/bin/python tests/readme/run_readme.py

clean:
	rm -rf $(BUILD) $(VENV) $(ANSIBLE_CORE_216_VENV) $(BENCH_MODULE_VENV) .ansible tests/output
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# The main job, on this host (as root): prerequisites, a btrfs store (a sparse
# /var/lib/dockerlite.img mounted at /var/lib/dockerlite, with an fstab entry),
# a busybox image, containers, a commit, and a summary; see playbooks/demo.yml.
.PHONY: demo demo-clean
demo:
	$(MAKE) venv
	$(MAKE) collection
	ANSIBLE_COLLECTIONS_PATH=$(BUILD) ansible-playbook -i 'localhost,' -c local \
		-e ansible_python_interpreter=/usr/bin/python3 playbooks/demo.yml

# Removes what `make demo` left: its containers and images, then its loopback
# store (the mount, the fstab line, the file); see playbooks/demo_clean.yml.
demo-clean:
	$(MAKE) venv
	$(MAKE) collection
	ANSIBLE_COLLECTIONS_PATH=$(BUILD) ansible-playbook -i 'localhost,' -c local \
		-e ansible_python_interpreter=/usr/bin/python3 playbooks/demo_clean.yml

# Benchmarks, as root: on a throwaway loopback btrfs store, the modules
# against their floors and community.general.lxc_container, side by side; prints
# one markdown table, writes bench/output/results.{md,json} and PNG plots. The
# BENCH_* variables in bench/README.md shorten it (BENCH_N=3 BENCH_PEER_N=0 ...).
# BENCH_PEERS: the peers started and measured side by side (figure 9), those installed of
# "docker podman"; "none" skips them. The three container modules of figure 9, and
# containers.podman.podman_image of figure 8, run on BENCH_MODULE_VENV's Python: /usr/bin/python3
# with its system packages (python3-lxc, python3-btrfsutil) plus requests, which community.docker
# needs. It is made and used when figure 9 or figure 8 runs (BENCH_PULL_MIB not 0).
BENCH_STAMP := $(VENV)/.bench-installed
BENCH_PEERS ?= docker podman
BENCH_MODULE_VENV ?= $(CURDIR)/.venv-bench-modules
BENCH_MODULE_STAMP := $(BENCH_MODULE_VENV)/.requests-installed
BENCH_USES_MODULE_VENV = $(strip $(filter-out none,$(BENCH_PEERS)) $(filter-out 0,$(or $(BENCH_PULL_MIB),100)))

.PHONY: bench bench-venv bench-module-venv
bench-venv: $(BENCH_STAMP)

$(BENCH_STAMP): $(VENV_STAMP)
	$(VENV)/bin/python -m pip install --quiet matplotlib
	touch $@

bench-module-venv: $(BENCH_MODULE_STAMP)

$(BENCH_MODULE_STAMP):
	test -x $(BENCH_MODULE_VENV)/bin/python || /usr/bin/python3 -m venv --system-site-packages $(BENCH_MODULE_VENV)
	$(BENCH_MODULE_VENV)/bin/python -m pip install --quiet requests
	touch $@

bench:
	$(MAKE) venv
	$(MAKE) bench-venv
	if [ -n "$(BENCH_USES_MODULE_VENV)" ]; then $(MAKE) bench-module-venv; fi
	$(MAKE) collection
	BENCH_PEERS='$(BENCH_PEERS)' \
	BENCH_MODULE_PYTHON=$$(test -n "$(BENCH_USES_MODULE_VENV)" && echo $(BENCH_MODULE_VENV)/bin/python) \
		$(VENV)/bin/python bench/bench.py --build $(BUILD) --output $(CURDIR)/bench/output

# The test fleet, as root: FLEET_HOSTS hosts, each a network namespace with its own sshd
# and loopback store, FLEET_CONTAINERS containers each, through playbooks/fleet.yml with
# --forks FLEET_FORKS; one host is broken mid-run and repaired; prints the first run, the
# unchanged rerun and the floor (a no-op play of as many tasks) side by side, and the
# containers' memory. See tests/fleet/fleet_test.py. A small version runs in `make test`
# (the fleet_small integration target).
FLEET_HOSTS ?= 20
FLEET_CONTAINERS ?= 50
FLEET_FORKS ?= 10
fleet-test:
	$(MAKE) venv
	$(MAKE) collection
	VENV=$(VENV) BUILD=$(BUILD) /usr/bin/python3 tests/fleet/fleet_test.py --hosts $(FLEET_HOSTS) \
		--containers $(FLEET_CONTAINERS) --forks $(FLEET_FORKS) $(FLEET_ARGS)
