/* SPDX-License-Identifier: BSD-3-Clause */
#include "cfg_log.h"

enum cfg_log_level cfg_log_level_current = CFG_LOG_INFO;
