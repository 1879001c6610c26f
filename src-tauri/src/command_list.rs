// The commands windows may invoke, each named once, where it is defined. Read by two compilers:
// `build.rs` includes this file and declares each command's last path segment to tauri-build
// (which makes an `allow-<command>` permission for the capability files), and `lib.rs` hands the
// same paths to `generate_handler!`. A command added here is both registered and grantable.
macro_rules! with_commands {
    ($then:ident) => {
        $then! {
            crate::view::status::app_state,
            crate::view::windows::window_painted,
            crate::launch::dispatch::show_window,
            crate::features::ask::take_ask_prefill,
            crate::features::ask::ask_send,
            crate::features::ask::ask_overview,
            crate::features::ask::ask_resend,
            crate::features::ask::ask_discard,
            crate::features::ask::ask_new_conversation,
            crate::features::ask::ask_continue_conversation,
            crate::features::ask::ask_conversations,
            crate::features::ask::ask_history,
            crate::features::ask::ask_goal,
            crate::features::ask::ask_goal_action,
            crate::features::ask::ask_budget_action,
            crate::features::ask::ask_estimate,
            crate::features::ask::open_link,
            crate::features::calls::call_details,
            crate::features::calls::call_action,
            crate::features::calls::recent_calls,
            crate::features::calls::show_call,
            crate::features::inbox::inbox_items,
            crate::features::inbox::inbox_focus,
            crate::features::inbox::inbox_message,
            crate::features::inbox::inbox_act,
            crate::features::inbox::inbox_goal_action,
            crate::features::inbox::inbox_answer,
            crate::features::credits::credits_state,
            crate::features::credits::credits_details,
            crate::features::credits::manage_plan,
            crate::features::signin::signin_start,
            crate::features::signin::signin_reopen,
            crate::features::signin::signin_cancel,
            crate::features::signin::sign_out,
            crate::features::settings::settings_get,
            crate::features::settings::settings_set,
        }
    };
}
