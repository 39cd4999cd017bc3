//! The shipped D-Bus files on real buses: dbus-daemon accepts the
//! busconfig, and on the real system bus with polkitd, only root may own
//! the name, anyone may call, and polkit knows every action with its
//! documented defaults. The API itself is tested against the real daemon
//! in the guest (tests/tests/dbus_api.rs). Needs `dbus-daemon`, not BPF LSM.

use bpfbox_tests::bus::PrivateBus;

#[tokio::test]
async fn private_bus_accepts_zbus_connections() {
    let bus = PrivateBus::start();
    let conn = zbus::connection::Builder::address(bus.address())
        .unwrap()
        .build()
        .await
        .expect("connect to the private bus");
    assert!(conn.unique_name().is_some());
}

#[test]
fn dbus_daemon_accepts_the_shipped_busconfig() {
    // dbus-daemon refuses to start on an attribute or element it does not
    // know, which the DTD Debian ships cannot check.
    let conf = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../dbus/org.bpfbox.Bpfbox1.conf"
    );
    let _bus = PrivateBus::with_config(&format!("<include>{conf}</include>"));
}

/// The shipped busconfig and polkit actions on the real system bus with
/// polkitd: root only, so it runs in the guest.
#[cfg(feature = "guest")]
mod system {
    use std::{collections::HashMap, process::Command};

    use bpfbox_dbus::names;
    use bpfbox_tests::bus::SystemBus;

    /// polkit's `ImplicitAuthorization` values.
    const AUTH_ADMIN: u32 = 2;
    const AUTH_ADMIN_KEEP: u32 = 4;
    const YES: u32 = 5;

    type ActionDescription = (
        String,
        String,
        String,
        String,
        String,
        String,
        u32,
        u32,
        u32,
        HashMap<String, String>,
    );

    #[tokio::test]
    async fn polkit_loads_every_action_with_its_documented_defaults() {
        let bus = SystemBus::start();
        let conn = zbus::connection::Builder::address(bus.address())
            .unwrap()
            .build()
            .await
            .unwrap();
        let reply = conn
            .call_method(
                Some("org.freedesktop.PolicyKit1"),
                "/org/freedesktop/PolicyKit1/Authority",
                Some("org.freedesktop.PolicyKit1.Authority"),
                "EnumerateActions",
                &("",),
            )
            .await
            .unwrap();
        let actions: Vec<ActionDescription> = reply.body().deserialize().unwrap();
        let defaults = |id: &str| {
            let a = actions
                .iter()
                .find(|a| a.0 == id)
                .unwrap_or_else(|| panic!("polkit does not know {id}"));
            ((a.6, a.7, a.8), a.9.clone())
        };
        use names::action;
        assert_eq!(
            defaults(action::READ_EVENTS).0,
            (AUTH_ADMIN, AUTH_ADMIN, YES)
        );
        assert_eq!(
            defaults(action::GRANT_TEMPORARY).0,
            (AUTH_ADMIN_KEEP, AUTH_ADMIN_KEEP, YES)
        );
        let keep = (AUTH_ADMIN_KEEP, AUTH_ADMIN_KEEP, AUTH_ADMIN_KEEP);
        assert_eq!(defaults(action::MANAGE).0, keep);
        assert_eq!(
            defaults(action::RELOAD).0,
            (AUTH_ADMIN_KEEP, AUTH_ADMIN_KEEP, YES)
        );
        let (all, annotations) = defaults(action::ALL);
        assert_eq!(all, keep);
        let mut implied: Vec<&str> = annotations["org.freedesktop.policykit.imply"]
            .split_whitespace()
            .collect();
        implied.sort_unstable();
        let mut expected = [
            action::GRANT_TEMPORARY,
            action::MANAGE,
            action::READ_EVENTS,
            action::RELOAD,
        ];
        expected.sort_unstable();
        assert_eq!(implied, expected);
    }

    // Multi-threaded: dbus-send blocks this thread while zbus answers.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_root_may_own_the_name_and_anyone_may_call_it() {
        let bus = SystemBus::start();
        // the name and one standard interface at the daemon's path are all
        // this needs: what answers is zbus's own ObjectManager
        let daemon = zbus::connection::Builder::address(bus.address())
            .unwrap()
            .serve_at(names::MANAGER_PATH, zbus::fdo::ObjectManager)
            .unwrap()
            .name(names::BUS_NAME)
            .unwrap()
            .build()
            .await
            .expect("root owns org.bpfbox.Bpfbox1");
        let as_nobody = |args: &[&str]| {
            Command::new("runuser")
                .args([
                    "-u",
                    "nobody",
                    "--",
                    "dbus-send",
                    "--system",
                    "--print-reply",
                ])
                .args(args)
                .output()
                .expect("run dbus-send as nobody")
        };
        let own = as_nobody(&[
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.RequestName",
            "string:org.bpfbox.Bpfbox1",
            "uint32:0",
        ]);
        assert!(!own.status.success(), "nobody must not own the name");
        assert!(String::from_utf8_lossy(&own.stderr).contains("AccessDenied"));
        let call = as_nobody(&[
            "--dest=org.bpfbox.Bpfbox1",
            names::MANAGER_PATH,
            "org.freedesktop.DBus.ObjectManager.GetManagedObjects",
        ]);
        assert!(
            call.status.success(),
            "nobody may call the daemon: {}",
            String::from_utf8_lossy(&call.stderr)
        );
        drop(daemon);
    }
}
