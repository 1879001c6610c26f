// The commands windows may invoke, each once, where it is defined. Read by two compilers:
// `build.rs` includes this file and declares each command's last path segment to tauri-build
// (which makes an `allow-<command>` permission for the capability files), and `lib.rs` hands the
// same paths to `generate_handler!`. A command added here is both registered and grantable.
macro_rules! with_commands {
    ($then:ident) => {
        $then! {
            crate::commands::app_state,
            crate::commands::show_window,
            crate::commands::take_ask_prefill,
            crate::commands::window_painted,
            crate::commands::call_details,
            crate::commands::call_action,
            crate::commands::recent_calls,
            crate::commands::show_call,
            crate::commands::signin_start,
            crate::commands::signin_reopen,
            crate::commands::signin_cancel,
            crate::commands::sign_out,
            crate::commands::ask_send,
            crate::commands::ask_overview,
            crate::commands::ask_resend,
            crate::commands::ask_discard,
            crate::commands::ask_new_conversation,
            crate::commands::ask_continue_conversation,
            crate::commands::ask_conversations,
            crate::commands::ask_history,
            crate::commands::ask_goal,
            crate::commands::ask_goal_action,
            crate::commands::ask_budget_action,
            crate::commands::ask_estimate,
            crate::commands::open_link,
            crate::commands::manage_plan,
            crate::commands::credits_state,
            crate::commands::credits_details,
            crate::commands::settings_get,
            crate::commands::settings_set,
        }
    };
}
