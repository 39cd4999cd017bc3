# Builds and installs bpfbox the way distributions expect:
#
#   make && make install prefix=/usr sysconfdir=/etc DESTDIR=/tmp/stage
#   make uninstall prefix=/usr sysconfdir=/etc
#
# Directory variables follow the GNU conventions; the defaults install under
# /usr/local. PROFILE=debug installs an existing debug build instead of
# building a release (the test command's staged install does that);
# PROFILE=dev builds a debug build. `make install-app` installs only the
# desktop app (what the Flatpak ships, flatpak/).

prefix ?= /usr/local
exec_prefix ?= $(prefix)
bindir ?= $(exec_prefix)/bin
sbindir ?= $(exec_prefix)/sbin
sysconfdir ?= $(prefix)/etc
datarootdir ?= $(prefix)/share
datadir ?= $(datarootdir)
localedir ?= $(datarootdir)/locale
mandir ?= $(datarootdir)/man
docdir ?= $(datarootdir)/doc/bpfbox
systemdsystemunitdir ?= $(prefix)/lib/systemd/system
bashcompletiondir ?= $(datadir)/bash-completion/completions
zshcompletiondir ?= $(datadir)/zsh/vendor-completions
fishcompletiondir ?= $(datadir)/fish/vendor_completions.d
DESTDIR ?=

CARGO ?= cargo
MSGFMT ?= msgfmt
HELP2MAN ?= help2man
INSTALL ?= install
PROFILE ?= release
CARGO_TARGET_DIR ?= target
builddir ?= build

CARGOFLAGS ?=
ifeq ($(PROFILE),release)
cargo_profile := --release
else
cargo_profile := --profile $(PROFILE)
endif
# cargo names the dev profile's directory "debug"
bin := $(CARGO_TARGET_DIR)/$(if $(filter dev,$(PROFILE)),debug,$(PROFILE))

LINGUAS := $(shell sed -e 's/\#.*//' po/LINGUAS)
mo_files := $(foreach l,$(LINGUAS),$(builddir)/locale/$(l)/LC_MESSAGES/bpfbox.mo)
generated := $(builddir)/bpfboxd.8 $(builddir)/bpfboxd.service $(builddir)/org.bpfbox.Bpfbox1.service \
	$(builddir)/bpfbox.1 $(builddir)/bpfbox.bash $(builddir)/bpfbox.zsh $(builddir)/bpfbox.fish

# the user documentation (service.md is the unit's Documentation=)
docs := README.md docs/service.md docs/policy.md docs/app.md docs/cli.md \
	docs/notifications.md docs/dbus.md

# Every installed file as source:destination:mode, in three groups: the
# desktop app (all the Flatpak ships), the CLI, and the system service.
# install and uninstall walk the same lists, so they cannot disagree about
# what bpfbox owns.
app_files := \
	$(bin)/bpfbox-manager:$(bindir)/bpfbox-manager:755 \
	$(bin)/bpfbox-notifier:$(bindir)/bpfbox-notifier:755 \
	$(builddir)/org.bpfbox.Manager.desktop:$(datadir)/applications/org.bpfbox.Manager.desktop:644 \
	$(builddir)/org.bpfbox.Manager.metainfo.xml:$(datadir)/metainfo/org.bpfbox.Manager.metainfo.xml:644 \
	data/icons/hicolor/scalable/apps/org.bpfbox.Manager.svg:$(datadir)/icons/hicolor/scalable/apps/org.bpfbox.Manager.svg:644 \
	data/icons/hicolor/symbolic/apps/org.bpfbox.Manager-symbolic.svg:$(datadir)/icons/hicolor/symbolic/apps/org.bpfbox.Manager-symbolic.svg:644 \
	$(foreach l,$(LINGUAS),$(builddir)/locale/$(l)/LC_MESSAGES/bpfbox.mo:$(localedir)/$(l)/LC_MESSAGES/bpfbox.mo:644)
# the session agent starts with every desktop session
autostart_files := \
	$(builddir)/org.bpfbox.Notifier.desktop:$(sysconfdir)/xdg/autostart/org.bpfbox.Notifier.desktop:644
cli_files := \
	$(bin)/bpfbox:$(bindir)/bpfbox:755 \
	$(builddir)/bpfbox.1:$(mandir)/man1/bpfbox.1:644 \
	$(builddir)/bpfbox.bash:$(bashcompletiondir)/bpfbox:644 \
	$(builddir)/bpfbox.zsh:$(zshcompletiondir)/_bpfbox:644 \
	$(builddir)/bpfbox.fish:$(fishcompletiondir)/bpfbox.fish:644
daemon_files := \
	$(bin)/bpfboxd:$(sbindir)/bpfboxd:755 \
	$(builddir)/bpfboxd.8:$(mandir)/man8/bpfboxd.8:644 \
	$(builddir)/bpfboxd.service:$(systemdsystemunitdir)/bpfboxd.service:644 \
	dbus/org.bpfbox.Bpfbox1.conf:$(datadir)/dbus-1/system.d/org.bpfbox.Bpfbox1.conf:644 \
	$(builddir)/org.bpfbox.Bpfbox1.service:$(datadir)/dbus-1/system-services/org.bpfbox.Bpfbox1.service:644 \
	dbus/org.bpfbox.Bpfbox1.xml:$(datadir)/dbus-1/interfaces/org.bpfbox.Bpfbox1.xml:644 \
	data/polkit/org.bpfbox.bpfbox1.policy:$(datadir)/polkit-1/actions/org.bpfbox.bpfbox1.policy:644 \
	data/bpfboxd.toml:$(sysconfdir)/bpfbox/bpfboxd.toml:644 \
	data/logrotate/bpfbox:$(sysconfdir)/logrotate.d/bpfbox:644 \
	$(foreach p,$(wildcard data/profiles/*.toml),$(p):$(datadir)/bpfbox/examples/$(notdir $(p)):644) \
	$(foreach d,$(docs),$(d):$(docdir)/$(notdir $(d)):644)
files := $(app_files) $(autostart_files) $(cli_files) $(daemon_files)

# install_files(list): copies each source to $(DESTDIR)destination
define install_files
	@set -e; for f in $(1); do \
		src=$${f%%:*}; rest=$${f#*:}; dest=$${rest%:*}; mode=$${rest##*:}; \
		echo "install $$src -> $(DESTDIR)$$dest"; \
		$(INSTALL) -D -m $$mode "$$src" "$(DESTDIR)$$dest"; \
	done
endef

desktop_data := $(builddir)/org.bpfbox.Manager.desktop $(builddir)/org.bpfbox.Notifier.desktop \
	$(builddir)/org.bpfbox.Manager.metainfo.xml

.PHONY: all app desktop-data install install-app uninstall clean
all: packages = -p bpfboxd -p bpfbox-cli -p bpfbox-gui
all: cargo-build translations desktop-data $(generated)
app: packages = -p bpfbox-gui
app: cargo-build translations desktop-data
desktop-data: $(desktop_data)

# Always asks cargo (it knows when nothing changed). The app and the agent
# find their catalogues in ../share/locale from their bin/ directory, so
# bindir and localedir must keep that standard relation.
.PHONY: cargo-build
cargo-build:
ifeq ($(PROFILE),debug)
	@test -x $(bin)/bpfbox-manager || { echo "make: PROFILE=debug installs an existing build: run cargo build first" >&2; exit 1; }
else
	CARGO_TARGET_DIR=$(CARGO_TARGET_DIR) $(CARGO) build --locked $(CARGOFLAGS) $(cargo_profile) $(packages)
endif

translations: $(mo_files)
# regenerated every time: they depend on sbindir, not only on their source
.PHONY: translations $(builddir)/bpfboxd.service $(builddir)/org.bpfbox.Bpfbox1.service

$(builddir)/locale/%/LC_MESSAGES/bpfbox.mo: po/%.po
	@mkdir -p $(@D)
	$(MSGFMT) --check --output-file=$@ $<

# Desktop files and metainfo with every language of po/LINGUAS merged in.
$(builddir)/%.desktop: data/%.desktop.in $(wildcard po/*.po) po/LINGUAS
	@mkdir -p $(@D)
	$(MSGFMT) --desktop --template=$< -d po --output-file=$@
$(builddir)/%.metainfo.xml: data/%.metainfo.xml.in $(wildcard po/*.po) po/LINGUAS
	@mkdir -p $(@D)
	$(MSGFMT) --xml --template=$< -d po --output-file=$@

# The unit and the activation file name the daemon's installed path.
$(builddir)/bpfboxd.service: data/bpfboxd.service
	@mkdir -p $(@D)
	sed -e 's|/usr/sbin/bpfboxd|$(sbindir)/bpfboxd|g' $< > $@
$(builddir)/org.bpfbox.Bpfbox1.service: dbus/org.bpfbox.Bpfbox1.service
	@mkdir -p $(@D)
	sed -e 's|/usr/sbin/bpfboxd|$(sbindir)/bpfboxd|g' $< > $@

# The man pages and completions come from the binaries' own option parsers
# (help2man reads bpfboxd's --help, which clap writes).
$(builddir)/bpfboxd.8: cargo-build
	@mkdir -p $(@D)
	$(HELP2MAN) --section=8 --no-info --no-discard-stderr \
		--name="confine applications with BPF-LSM programs" $(bin)/bpfboxd > $@
$(builddir)/bpfbox.1: cargo-build
	@mkdir -p $(@D)
	$(bin)/bpfbox man > $@
$(builddir)/bpfbox.bash $(builddir)/bpfbox.zsh $(builddir)/bpfbox.fish: $(builddir)/bpfbox.%: cargo-build
	@mkdir -p $(@D)
	$(bin)/bpfbox completions $* > $@

install: all
	$(call install_files,$(files))

# What the Flatpak installs: the app and the agent, no service.
install-app: app
	$(call install_files,$(app_files))

uninstall:
	@for f in $(files); do \
		rest=$${f#*:}; dest=$${rest%:*}; \
		rm -f "$(DESTDIR)$$dest"; \
	done
	@# directories only bpfbox uses; -p stops at the first one still in use
	-rmdir -p --ignore-fail-on-non-empty $(DESTDIR)$(datadir)/bpfbox/examples \
		$(DESTDIR)$(docdir) $(DESTDIR)$(sysconfdir)/bpfbox 2>/dev/null

clean:
	rm -rf $(builddir)
