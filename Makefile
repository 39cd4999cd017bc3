# Builds and installs bpfbox the way distributions expect:
#
#   make && make install prefix=/usr sysconfdir=/etc DESTDIR=/tmp/stage
#   make uninstall prefix=/usr sysconfdir=/etc
#
# Directory variables follow the GNU conventions; the defaults install under
# /usr/local. PROFILE=debug installs an existing debug build instead of
# building a release (the test command's staged install does that).

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
INSTALL ?= install
PROFILE ?= release
CARGO_TARGET_DIR ?= target
builddir ?= build

ifeq ($(PROFILE),release)
cargo_profile := --release
else
cargo_profile := --profile $(PROFILE)
endif
# cargo names the dev profile's directory "debug"
bin := $(CARGO_TARGET_DIR)/$(if $(filter dev,$(PROFILE)),debug,$(PROFILE))

LINGUAS := $(shell sed -e 's/\#.*//' po/LINGUAS)
mo_files := $(foreach l,$(LINGUAS),$(builddir)/locale/$(l)/LC_MESSAGES/bpfbox.mo)
generated := $(builddir)/bpfboxd.service $(builddir)/org.bpfbox.Bpfbox1.service \
	$(builddir)/bpfbox.1 $(builddir)/bpfbox.bash $(builddir)/bpfbox.zsh $(builddir)/bpfbox.fish

# Every installed file as source:destination:mode. install and uninstall
# both walk this list, so they cannot disagree about what bpfbox owns.
files := \
	$(bin)/bpfboxd:$(sbindir)/bpfboxd:755 \
	$(bin)/bpfbox:$(bindir)/bpfbox:755 \
	$(bin)/bpfbox-manager:$(bindir)/bpfbox-manager:755 \
	$(bin)/bpfbox-notifier:$(bindir)/bpfbox-notifier:755 \
	$(builddir)/bpfboxd.service:$(systemdsystemunitdir)/bpfboxd.service:644 \
	dbus/org.bpfbox.Bpfbox1.conf:$(datadir)/dbus-1/system.d/org.bpfbox.Bpfbox1.conf:644 \
	$(builddir)/org.bpfbox.Bpfbox1.service:$(datadir)/dbus-1/system-services/org.bpfbox.Bpfbox1.service:644 \
	dbus/org.bpfbox.Bpfbox1.xml:$(datadir)/dbus-1/interfaces/org.bpfbox.Bpfbox1.xml:644 \
	data/polkit/org.bpfbox.bpfbox1.policy:$(datadir)/polkit-1/actions/org.bpfbox.bpfbox1.policy:644 \
	data/bpfboxd.toml:$(sysconfdir)/bpfbox/bpfboxd.toml:644 \
	data/logrotate/bpfbox:$(sysconfdir)/logrotate.d/bpfbox:644 \
	data/org.bpfbox.Manager.desktop:$(datadir)/applications/org.bpfbox.Manager.desktop:644 \
	data/org.bpfbox.Manager.metainfo.xml:$(datadir)/metainfo/org.bpfbox.Manager.metainfo.xml:644 \
	data/org.bpfbox.Notifier.desktop:$(sysconfdir)/xdg/autostart/org.bpfbox.Notifier.desktop:644 \
	data/icons/hicolor/scalable/apps/org.bpfbox.Manager.svg:$(datadir)/icons/hicolor/scalable/apps/org.bpfbox.Manager.svg:644 \
	data/icons/hicolor/symbolic/apps/org.bpfbox.Manager-symbolic.svg:$(datadir)/icons/hicolor/symbolic/apps/org.bpfbox.Manager-symbolic.svg:644 \
	$(builddir)/bpfbox.1:$(mandir)/man1/bpfbox.1:644 \
	$(builddir)/bpfbox.bash:$(bashcompletiondir)/bpfbox:644 \
	$(builddir)/bpfbox.zsh:$(zshcompletiondir)/_bpfbox:644 \
	$(builddir)/bpfbox.fish:$(fishcompletiondir)/bpfbox.fish:644 \
	$(foreach p,$(wildcard data/profiles/*.toml),$(p):$(datadir)/bpfbox/examples/$(notdir $(p)):644) \
	$(foreach d,README.md $(wildcard docs/*.md),$(d):$(docdir)/$(notdir $(d)):644) \
	$(foreach l,$(LINGUAS),$(builddir)/locale/$(l)/LC_MESSAGES/bpfbox.mo:$(localedir)/$(l)/LC_MESSAGES/bpfbox.mo:644)

.PHONY: all cargo-build translations install uninstall clean
all: cargo-build translations $(generated)

# The app and the agent look for their catalogues in $(localedir).
cargo-build:
ifeq ($(PROFILE),debug)
	@test -x $(bin)/bpfbox-manager || { echo "make: PROFILE=debug installs an existing build: run cargo build first" >&2; exit 1; }
else
	BPFBOX_LOCALEDIR=$(localedir) CARGO_TARGET_DIR=$(CARGO_TARGET_DIR) $(CARGO) build --locked $(cargo_profile) \
		-p bpfboxd -p bpfbox-cli -p bpfbox-gui
endif

translations: $(mo_files)

$(builddir)/locale/%/LC_MESSAGES/bpfbox.mo: po/%.po
	@mkdir -p $(@D)
	$(MSGFMT) --check --output-file=$@ $<

# The unit and the activation file name the daemon's installed path.
$(builddir)/%.service: data/%.service
	@mkdir -p $(@D)
	sed -e 's|/usr/sbin/bpfboxd|$(sbindir)/bpfboxd|g' $< > $@
$(builddir)/org.bpfbox.Bpfbox1.service: dbus/org.bpfbox.Bpfbox1.service
	@mkdir -p $(@D)
	sed -e 's|/usr/sbin/bpfboxd|$(sbindir)/bpfboxd|g' $< > $@

# The man page and completions come from the binary's own option parser.
$(builddir)/bpfbox.1: cargo-build
	@mkdir -p $(@D)
	$(bin)/bpfbox man > $@
$(builddir)/bpfbox.%: cargo-build
	@mkdir -p $(@D)
	$(bin)/bpfbox completions $* > $@

install: all
	@set -e; for f in $(files); do \
		src=$${f%%:*}; rest=$${f#*:}; dest=$${rest%:*}; mode=$${rest##*:}; \
		echo "install $$src -> $(DESTDIR)$$dest"; \
		$(INSTALL) -D -m $$mode "$$src" "$(DESTDIR)$$dest"; \
	done

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
