#include "xfrm/netns_runner.hpp"

#include <fcntl.h>
#include <sched.h>

#include <thread>

#include "common/named_netns.hpp"
#include "common/unique_fd.hpp"

namespace ist::xfrm {

NetnsRunner named_netns_runner(std::string name) {
  return [name = std::move(name)](const std::function<Status()>& fn) -> Status {
    const std::string path = named_netns_path(name);
    unique_fd nsfd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!nsfd) {
      if (errno == ENOENT) return Error("no network namespace " + name + " (" + path + ")", ENOENT);
      return Error::sys("opening " + path);
    }
    Status result;
    // A thread of our own: the namespace switch dies with it.
    std::thread t([&] {
      if (::setns(nsfd.get(), CLONE_NEWNET) != 0) {
        result = Error::sys("entering network namespace " + name);
        return;
      }
      result = fn();
    });
    t.join();
    return result;
  };
}

NetnsRunner current_netns_runner() {
  return [](const std::function<Status()>& fn) { return fn(); };
}

}  // namespace ist::xfrm
