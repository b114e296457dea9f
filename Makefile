# lcluster — build, test, rootfs, bench, run. See README.md.
DOTNET  ?= dotnet
PREFIX  ?= /usr/local
CONFIG  ?= Release
# NativeAOT: each program is one self-contained native file (clang links it).
PUBLISH  = $(DOTNET) publish -c $(CONFIG) -r linux-x64 -p:PublishAot=true --nologo -v quiet
# chromium: the dashboard's browser test; python3-prometheus-client: the metrics test's parser; curl: the HTTP API as the README shows it.
DEB_PACKAGES = clang zlib1g-dev systemd libseccomp2 keyutils etcd-server etcd-client busybox-static iproute2 runc python3-grpcio python3-grpc-tools \
	chromium python3-prometheus-client curl
# Only the bench needs these: a throwaway Slurm is its anchor for jobs completed per second.
BENCH_DEB_PACKAGES = slurm-wlm munge

.PHONY: all build test deps bench-deps rootfs bench scale chaos run install clean

all: build

# The containers' init is a program of its own, carried inside lclusterd (docs/architecture.md, "NativeAOT").
INIT = $(CURDIR)/obj/lclusterd-init/lclusterd-init

build:
	$(PUBLISH) src/lclusterd-init/lclusterd-init.csproj -o $(dir $(INIT))
	$(PUBLISH) src/lclusterd/lclusterd.csproj -o bin -p:ContainerInit=$(INIT)
	$(PUBLISH) src/lclusterc/lclusterc.csproj -o bin
	@rm -f bin/*.dbg bin/*.pdb  # symbol files: bin/ holds the two programs only

# Installs the Debian packages the project needs; does nothing when they are there.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$(echo $$missing | sed 's/^/ /')"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	else echo "deps: all installed"; fi

# Installs Slurm and munge for the bench's anchor, only when missing, and leaves no service of
# theirs running or enabled: the bench runs its own munged, slurmctld and slurmd in a scratch
# directory. A policy-rc.d that answers 101 stops Debian's postinst from starting the system's
# daemons (put there only when the host has none, removed after); where systemd runs, the units
# of the packages this installed are disabled again, so they do not start at the next boot.
bench-deps:
	@missing=$$(for p in $(BENCH_DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "bench-deps: installing$$(echo $$missing | sed 's/^/ /')"; \
		units=$$(for p in munge slurmctld slurmd; do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
		policy=/usr/sbin/policy-rc.d; ours=; \
		if [ ! -e $$policy ]; then printf '#!/bin/sh\nexit 101\n' > $$policy && chmod 755 $$policy && ours=1; fi; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
		status=$$?; [ -z "$$ours" ] || rm -f $$policy; \
		if [ $$status -eq 0 ] && [ -n "$$units" ] && [ -d /run/systemd/system ]; then systemctl disable --quiet $$units; fi; \
		exit $$status; \
	else echo "bench-deps: all installed"; fi

rootfs:
	sh rootfs/build.sh

# When a test fails, the run ends by naming each failure with its message: a CI log may keep only its end.
TEST_RESULTS = $(CURDIR)/obj/test-results
test: deps build rootfs
	$(DOTNET) build lcluster.sln -c $(CONFIG) --nologo -v quiet
	@rm -rf $(TEST_RESULTS)
	$(DOTNET) test lcluster.sln -c $(CONFIG) --no-build --nologo --logger trx --results-directory $(TEST_RESULTS) \
		|| { python3 tests/failures.py $(TEST_RESULTS); exit 1; }

# The bench's containers start the init the daemon carries, as the daemon's do.
bench: deps bench-deps build rootfs
	$(DOTNET) run --project bench/Bench.csproj -c $(CONFIG) -- --repo $(CURDIR) --init $(INIT)

# The control plane at scale (docs/performance.md, "Scale"): a thousand hollow nodes and 100,000 jobs around a
# real etcd, then a hundred real daemons, each in a network namespace of its own, running real containers.
scale: deps build rootfs
	$(DOTNET) run --project bench/Scale/Scale.csproj -c $(CONFIG)

# Faults against 5 daemons around a three-member etcd while clients submit jobs; then a checker holds the history
# to the scheduler's promises (docs/testing.md). SEED replays a run's schedule; the rest change its size.
SEED     ?=
DURATION ?= 10m
JOBS     ?= 2000
DAEMONS  ?= 5
KEEP     ?=
chaos: deps build rootfs
	$(DOTNET) run --project chaos/Chaos.csproj -c $(CONFIG) -- --seed=$(SEED) --duration=$(DURATION) --jobs=$(JOBS) --daemons=$(DAEMONS) --keep=$(KEEP)

run: deps build rootfs
	./bin/lclusterd --rootfs=$(CURDIR)/rootfs

# The programs, the busybox rootfs, and a systemd unit (Restart=on-failure) whose flags live in
# /etc/default/lclusterd (kept when it is there). DESTDIR stages it all elsewhere (packaging, tests).
install: build rootfs
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/lcluster $(DESTDIR)/etc/systemd/system $(DESTDIR)/etc/default
	install -m 0755 bin/lclusterd $(DESTDIR)$(PREFIX)/bin/lclusterd
	install -m 0755 bin/lclusterc $(DESTDIR)$(PREFIX)/bin/lclusterc
	rm -rf $(DESTDIR)$(PREFIX)/share/lcluster/rootfs
	cp -a rootfs $(DESTDIR)$(PREFIX)/share/lcluster/rootfs
	rm -f $(DESTDIR)$(PREFIX)/share/lcluster/rootfs/build.sh
	sed 's|@PREFIX@|$(PREFIX)|g' dist/lclusterd.service > $(DESTDIR)/etc/systemd/system/lclusterd.service
	[ -e $(DESTDIR)/etc/default/lclusterd ] || sed 's|@PREFIX@|$(PREFIX)|g' dist/lclusterd.default > $(DESTDIR)/etc/default/lclusterd
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; \
		echo "install: start it with: systemctl enable --now lclusterd"; fi

clean:
	rm -rf bin obj
	find src tests bench chaos -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} +
