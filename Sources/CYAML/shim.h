#ifndef SDCTL_CYAML_SHIM_H
#define SDCTL_CYAML_SHIM_H

// Debian's libyaml-dev (0.2): kubeconfig files are YAML. Only the event parser is used.
#include <yaml.h>

#endif
