#pragma once
// SIGINT/SIGTERM request an orderly stop: a flag plus an eventfd that event loops add to
// their epoll set, so a blocked loop wakes at once. The second SIGINT is left to the
// default action only after teardown had its chance (see install_stop_handlers).
namespace ist::signals {

// Installs handlers for SIGINT, SIGTERM and SIGHUP; ignores SIGPIPE. Idempotent.
void install_stop_handlers();

bool stop_requested();
// Signal number that requested the stop (0 if none).
int stop_signal();
// Readable (eventfd) once a stop was requested. Valid after install_stop_handlers().
int stop_fd();
// For tests and for internal "abort the run" paths.
void request_stop(int signo = 0);
void reset_for_tests();

}  // namespace ist::signals
