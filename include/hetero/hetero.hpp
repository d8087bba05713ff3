// Umbrella header: the whole user API of hetero. The interface backends implement (nodes,
// memory spaces, the dispatcher) is under hetero/backend/.
#pragma once

#include "hetero/array.hpp"
#include "hetero/element.hpp"
#include "hetero/error.hpp"
#include "hetero/heat.hpp"
#include "hetero/job.hpp"
#include "hetero/kernel.hpp"
#include "hetero/machine.hpp"
#include "hetero/model.hpp"
#include "hetero/node.hpp"
#include "hetero/output.hpp"
#include "hetero/policy.hpp"
#include "hetero/registry.hpp"
#include "hetero/report.hpp"
#include "hetero/run.hpp"
#include "hetero/runtime.hpp"
#include "hetero/scaling.hpp"
#include "hetero/settings.hpp"
#include "hetero/trace.hpp"
#include "hetero/version.hpp"
#include "hetero/workload.hpp"
