package darwin

// maxGroups is the most supplementary groups setgroups(2) accepts
// (macOS's NGROUPS).
const maxGroups = 16
