// Umbrella header: the whole public API of hetero.
#pragma once

#include "hetero/buffer.hpp"
#include "hetero/dispatcher.hpp"
#include "hetero/error.hpp"
#include "hetero/job.hpp"
#include "hetero/machine.hpp"
#include "hetero/model.hpp"
#include "hetero/node.hpp"
#include "hetero/output.hpp"
#include "hetero/policy.hpp"
#include "hetero/registry.hpp"
#include "hetero/report.hpp"
#include "hetero/scaling.hpp"
#include "hetero/trace.hpp"
#include "hetero/version.hpp"
#include "hetero/workload.hpp"
