// Kept so that older includes still build: the bug registry lives in bugs/bugs.hpp.
#pragma once
#include "chainrule/bugs/bugs.hpp"
