package builtins

import "github.com/sysprog21/hvfctl/engine"

// Modules returns every builtin module, one per tool family, in the order
// `hvfctl doc` lists them. The engine exposes each as a predeclared
// struct-like value (pmset, brew, files, …).
func Modules() []engine.Module {
	return []engine.Module{
		swVersModule(),
		sysctlModule(),
		dfModule(),
		psModule(),
		crontabModule(),
		sshdModule(),
		fdesetupModule(),
		usersModule(),
		dseditgroupModule(),
		idModule(),
		sysadminctlModule(),
		createhomedirModule(),
		defaultsModule(),
		icloudModule(),
		tccModule(),
		keychainModule(),
		filesModule(),
		plistModule(),
		mdutilModule(),
		pmsetModule(),
		softwareupdateModule(),
		xcodeSelectModule(),
		pkgutilModule(),
		installerModule(),
		brewModule(),
		shasumModule(),
		downloadModule(),
		tarModule(),
		launchctlModule(),
		runnerModule(),
		codesignModule(),
		fixturesModule(),
		gitHubModule(),
		smokeModule(),
	}
}
