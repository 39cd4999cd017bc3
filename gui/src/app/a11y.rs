//! Accessible labels for widgets that show no text (icon buttons,
//! switches): without one a screen reader says only "button".
//!
//! gtk4-rs 0.11 offers `gtk::Accessible::update_property` only with its
//! `v4_10` feature, but the C function exists since GTK 4.0; Debian 12 has
//! GTK 4.8, so it is called directly.

use gtk::{glib::translate::ToGlibPtr as _, prelude::*};

extern "C" {
    // Variadic: (property, value) pairs ended by -1. Every GtkWidget is a
    // GtkAccessible.
    fn gtk_accessible_update_property(
        accessible: *mut gtk::ffi::GtkWidget,
        first_property: std::ffi::c_int,
        ...
    );
}

/// Sets the accessible label of `widget` to `label`.
pub fn set_label(widget: &impl IsA<gtk::Widget>, label: &str) {
    // An interior NUL cannot be passed to C; such a label is cut there.
    let label = label.split('\0').next().unwrap_or_default();
    let c_label = std::ffi::CString::new(label).expect("no NUL after split");
    let accessible: *mut gtk::ffi::GtkWidget = widget.as_ref().to_glib_none().0;
    // SAFETY: `accessible` is a live GtkAccessible borrowed for the call; the
    // label property takes a NUL-terminated string, which GTK copies; the
    // list ends with -1 as the function requires.
    unsafe {
        gtk_accessible_update_property(
            accessible,
            gtk::ffi::GTK_ACCESSIBLE_PROPERTY_LABEL as std::ffi::c_int,
            c_label.as_ptr(),
            -1i32,
        );
    }
}
