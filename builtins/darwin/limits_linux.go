package darwin

// maxGroups is the most supplementary groups setgroups(2) accepts
// (Linux's NGROUPS_MAX).
const maxGroups = 65536
