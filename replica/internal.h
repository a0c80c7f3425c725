/*
 * replica/internal.h — private to replica/: each part's private header.
 * Not part of the public API (that is replica/replica.h).
 */
#ifndef MULE_REPLICA_INTERNAL_H
#define MULE_REPLICA_INTERNAL_H

#include "replica/store/internal.h"
#include "replica/sets/internal.h"
#include "replica/track/internal.h"
#include "replica/schema/internal.h"

#endif
