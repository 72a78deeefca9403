import Foundation
import QueryService
import Service

// `query --rebuild`: replay the projections from position 0, report events/s and exit.
if CommandLine.arguments.dropFirst().contains("--rebuild") {
    await QueryRebuild.runFromCommandLine()
}
await ServiceMain.run(QueryService.self)
